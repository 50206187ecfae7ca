//go:build linux

package daemon

import (
	"fmt"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// linkExists reports whether an interface name is taken in a namespace.
// Errors count as "taken" so the caller moves on to another name.
func linkExists(nsPath, name string) bool {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return false
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false
	}
	defer h.Close()
	_, err = h.LinkByName(name)
	return err == nil
}

// nsKey identifies a namespace by the device and inode of its file, so two
// paths naming the same namespace are recognised as one.
type nsKey struct{ dev, ino uint64 }

func nsIdentity(path string) (nsKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nsKey{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nsKey{}, fmt.Errorf("%s: no inode information", path)
	}
	return nsKey{dev: uint64(st.Dev), ino: st.Ino}, nil
}
