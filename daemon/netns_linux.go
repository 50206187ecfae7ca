//go:build linux

package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/switchyard/switchyard/nsutil"
)

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

// inNetns runs fn with a netlink handle opened inside the namespace.
func inNetns(nsPath string, fn func(h *netlink.Handle) error) error {
	var h *netlink.Handle
	err := nsutil.Do(nsPath, func() (err error) {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	return fn(h)
}

// linkExists reports whether an interface name is taken in a namespace;
// it answers false when the namespace cannot be inspected (the attach then
// fails with the real error).
func linkExists(nsPath, name string) bool {
	found := false
	inNetns(nsPath, func(h *netlink.Handle) error {
		_, err := h.LinkByName(name)
		found = err == nil
		return nil
	})
	return found
}

// hasDefaultRoute reports whether the namespace has an IPv4 default route.
func hasDefaultRoute(nsPath string) bool {
	found := false
	inNetns(nsPath, func(h *netlink.Handle) error {
		routes, err := h.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				found = true
			}
		}
		return err
	})
	return found
}

// setDefaultRoute makes gw on ifname the namespace's default route of
// gw's family.
func setDefaultRoute(nsPath, ifname string, gw netip.Addr) error {
	return inNetns(nsPath, func(h *netlink.Handle) error {
		link, err := h.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("default route: %w", err)
		}
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}
		if err := h.RouteReplace(r); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("default route via %s dev %s: %w", gw, ifname, err)
		}
		return nil
	})
}
