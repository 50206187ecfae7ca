//go:build !linux

package daemon

import (
	"errors"
	"net/netip"
)

type nsKey struct{ dev, ino uint64 }

var errNotLinux = errors.New("network namespaces need Linux")

func nsIdentity(string) (nsKey, error) { return nsKey{}, errNotLinux }

func linkExists(string, string) bool { return false }

func hasDefaultRoute(string) bool { return false }

func setDefaultRoute(string, string, netip.Addr) error { return errNotLinux }

func addSourceRoute(string, string, netip.Prefix, netip.Addr) (int, error) { return 0, errNotLinux }

func delSourceRoute(string, netip.Addr, int) error { return errNotLinux }
