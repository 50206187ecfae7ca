//go:build !linux

package daemon

import "errors"

type nsKey struct{ dev, ino uint64 }

var errNotLinux = errors.New("network namespaces need Linux")

func nsIdentity(string) (nsKey, error) { return nsKey{}, errNotLinux }

func linkExists(string, string) bool { return false }
