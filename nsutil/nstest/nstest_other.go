//go:build !linux

package nstest

import (
	"errors"
	"path/filepath"
	"testing"
)

// Prefix starts the name of every namespace NewNetns creates.
const Prefix = "sytest-"

// RequireNetAdmin skips t: network namespaces need Linux.
func RequireNetAdmin(t testing.TB) {
	t.Helper()
	Skip(t, "network namespaces need Linux")
}

// NewNetns skips t: network namespaces need Linux.
func NewNetns(t testing.TB) string {
	t.Helper()
	RequireNetAdmin(t)
	return ""
}

// Path returns the file a named namespace would have.
func Path(name string) string { return filepath.Join("/var/run/netns", name) }

// Exec fails: network namespaces need Linux.
func Exec(string, ...string) (string, error) { return "", errors.New("network namespaces need Linux") }

// Run skips t: network namespaces need Linux.
func Run(t testing.TB, _ string, _ ...string) string {
	t.Helper()
	RequireNetAdmin(t)
	return ""
}

// Veth skips t: network namespaces need Linux.
func Veth(t testing.TB, _ string) (string, string) {
	t.Helper()
	RequireNetAdmin(t)
	return "", ""
}
