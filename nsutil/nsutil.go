// Package nsutil resolves network namespace specifications and runs code
// inside a network namespace without disturbing the rest of the process.
//
// A namespace is named by a spec, which is one of:
//
//   - a path to a namespace file, e.g. /var/run/netns/blue or
//     /proc/1234/ns/net (anything containing a slash is a path);
//   - a bare name, e.g. blue, meaning /var/run/netns/blue (the convention of
//     `ip netns`);
//   - pid:N, meaning the network namespace of process N (/proc/N/ns/net).
//
// Do runs a function on a dedicated OS thread that has joined a namespace.
// Sockets and devices created there stay in that namespace after Do returns,
// which is how callers open TAP devices and netlink sockets elsewhere.
package nsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NetnsDir is where `ip netns` keeps named network namespaces; bare names
// are resolved inside it.
const NetnsDir = "/var/run/netns"

// pidPrefix introduces a process ID in a spec.
const pidPrefix = "pid:"

// ErrNotNetns is returned (wrapped) by Resolve when the file exists but is
// not a network namespace.
var ErrNotNetns = errors.New("not a network namespace")

// Resolve turns a namespace spec (a path, a bare name or pid:N; see the
// package documentation) into an absolute path to a network namespace file.
// The namespace must exist: a missing file, or one that is not a network
// namespace, is an error.
func Resolve(spec string) (string, error) {
	path, err := specPath(spec)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("netns %q: %w", spec, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("netns %q: %s is a directory: %w", spec, path, ErrNotNetns)
	}
	if err := checkNetns(path); err != nil {
		return "", fmt.Errorf("netns %q: %s: %w", spec, path, err)
	}
	return path, nil
}

// specPath maps a spec to a path without touching the file system.
func specPath(spec string) (string, error) {
	switch {
	case spec == "":
		return "", errors.New("netns \"\": empty namespace spec")
	case strings.HasPrefix(spec, pidPrefix):
		pid, err := strconv.Atoi(spec[len(pidPrefix):])
		if err != nil {
			return "", fmt.Errorf("netns %q: bad process ID: %w", spec, err)
		}
		if pid <= 0 {
			return "", fmt.Errorf("netns %q: bad process ID %d", spec, pid)
		}
		return "/proc/" + strconv.Itoa(pid) + "/ns/net", nil
	case strings.ContainsRune(spec, '/'):
		path, err := filepath.Abs(spec)
		if err != nil {
			return "", fmt.Errorf("netns %q: %w", spec, err)
		}
		return path, nil
	case spec == "." || spec == "..":
		return "", fmt.Errorf("netns %q: invalid namespace name", spec)
	default:
		return filepath.Join(NetnsDir, spec), nil
	}
}

// In runs fn in the network namespace of spec (see Resolve) like Do, or
// directly in the caller's namespace when spec is empty.
func In(spec string, fn func() error) error {
	if spec == "" {
		return fn()
	}
	path, err := Resolve(spec)
	if err != nil {
		return err
	}
	return Do(path, fn)
}
