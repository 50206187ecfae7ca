//go:build !linux

package nstest

import (
	"errors"
	"testing"
)

// Dockerd is a real dockerd in a test namespace (Linux only).
type Dockerd struct {
	// Dir holds everything the daemon writes.
	Dir string
}

// StartDockerd skips t: network namespaces need Linux.
func StartDockerd(t testing.TB, ns string, extra ...string) *Dockerd {
	t.Helper()
	Skip(t, "dockerd in a namespace needs Linux")
	return nil
}

// Host is the daemon's API address.
func (d *Dockerd) Host() string { return "" }

// Docker fails: there is no daemon.
func (d *Dockerd) Docker(args ...string) (string, error) {
	return "", errors.New("dockerd needs Linux")
}
