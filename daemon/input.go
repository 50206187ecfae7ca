package daemon

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// startNetns is the network namespace the process started in (where the
// daemon's NAT sockets live), read at start-up: later, a thread of the
// process may be inside another namespace, even the main one.
var startNetns, startNetnsErr = nsIdentity("/proc/thread-self/ns/net")

// selfNetns returns the daemon's own namespace. Unit tests with fake
// devices replace it to attach /proc/self/ns/net.
var selfNetns = func() (nsKey, error) { return startNetns, startNetnsErr }

// checkNotSelf refuses the daemon's own namespace as an endpoint's: its
// outbound traffic would loop through the NAT back into the namespace.
func checkNotSelf(ns nsKey, spec string) error {
	self, err := selfNetns()
	if err == nil && ns == self {
		return fmt.Errorf("netns %q is the daemon's own network namespace: attach a container's or another namespace", spec)
	}
	return nil
}

// ifNameMax is the longest Linux interface name (IFNAMSIZ - 1).
const ifNameMax = 15

// checkIfName applies the kernel's rules for interface names
// (dev_valid_name): 1-15 bytes, not "." or "..", no '/', ':' or white
// space.
func checkIfName(name string) error {
	switch {
	case name == "":
		return nil // chosen for the caller
	case len(name) > ifNameMax:
		return fmt.Errorf("interface name %q is longer than %d bytes", name, ifNameMax)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q is not allowed", name)
	case strings.ContainsAny(name, "/: \t\n\v\f\r\x00"):
		return fmt.Errorf("interface name %q contains '/', ':', white space or NUL", name)
	}
	return nil
}

// exhausted names the resource err says ran out, or "".
func exhausted(err error) string {
	switch {
	case errors.Is(err, syscall.EMFILE):
		return "out of file descriptors (the daemon's RLIMIT_NOFILE)"
	case errors.Is(err, syscall.ENFILE):
		return "out of file descriptors (the system's file table, fs.file-max)"
	case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return "out of kernel memory"
	}
	return ""
}
