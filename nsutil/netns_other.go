//go:build !linux

package nsutil

import (
	"errors"
	"fmt"
)

// errUnsupported is returned on systems without network namespaces.
var errUnsupported = errors.New("network namespaces are only supported on Linux")

// checkNetns reports that namespaces are unsupported here.
func checkNetns(string) error { return errUnsupported }

// Do is not supported outside Linux; it always fails.
func Do(path string, fn func() error) error {
	return fmt.Errorf("netns %q: %w", path, errUnsupported)
}

// MissingNetCaps names every capability endpoints need: none exist here.
func MissingNetCaps() []string { return []string{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"} }
