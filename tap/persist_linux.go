package tap

import (
	"errors"
	"fmt"
	"os"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// setPersist sets or clears the persist flag of the TAP f is attached to.
func setPersist(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("tun fd: %w", err)
	}
	v := 0
	if on {
		v = 1
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetInt(int(fd), unix.TUNSETPERSIST, v) }); err != nil {
		return fmt.Errorf("tun fd: %w", err)
	}
	if ioErr != nil {
		return fmt.Errorf("TUNSETPERSIST(%d): %w", v, ioErr)
	}
	return nil
}

// SetPersist makes the device persistent (or not): a persistent device
// stays after Close, a device that is not goes with it.
func (d *Device) SetPersist(on bool) error {
	if d.closed.Load() {
		return fmt.Errorf("tap %s: persist: %w", d.name, os.ErrClosed)
	}
	if err := setPersist(d.file, on); err != nil {
		return fmt.Errorf("tap %s: %w", d.name, err)
	}
	return nil
}

// Remove deletes the TAP interface name in the namespace netns (a nsutil
// spec; empty means the caller's), such as a persistent one nobody has
// open. It reports whether there was one; an interface that is not a TAP
// is left alone and is an error.
func Remove(netns, name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, fmt.Errorf("tap %q: remove: %w", name, err)
	}
	path := ""
	if netns != "" {
		var err error
		if path, err = nsutil.Resolve(netns); err != nil {
			return false, fmt.Errorf("tap %q: remove: %w", name, err)
		}
	}
	found := false
	err := inNetns(path, func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink: %w", err)
		}
		defer h.Close()
		link, err := h.LinkByName(name)
		if errors.As(err, new(netlink.LinkNotFoundError)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("looking up interface: %w", err)
		}
		if tt, ok := link.(*netlink.Tuntap); !ok || tt.Mode != netlink.TUNTAP_MODE_TAP {
			return fmt.Errorf("interface is a %s, not a TAP", link.Type())
		}
		found = true
		return h.LinkDel(link)
	})
	if err != nil {
		return found, fmt.Errorf("tap %q: remove: %w", name, err)
	}
	return found, nil
}
