package tap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/songgao/water"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Offload flags of TUNSETOFFLOAD (linux/if_tun.h); x/sys/unix lacks them.
const (
	tunFCsum = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
)

// Open creates the TAP device described by cfg inside its namespace (or
// opens the existing one, with cfg.Existing), configures the interface
// (MTU, MAC, transmit queue, addresses, link up, default route) and returns
// it as a port. On any error everything created so far is removed again;
// an existing TAP stays, with whatever of the configuration was applied.
func Open(cfg Config) (*Device, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("tap %q: %w", cfg.Name, err)
	}
	nsPath := ""
	if cfg.Netns != "" {
		if nsPath, err = nsutil.Resolve(cfg.Netns); err != nil {
			return nil, fmt.Errorf("tap %q: %w", cfg.Name, err)
		}
	}
	var b builder
	err = inNetns(nsPath, func() error { return b.create(cfg) })
	if err == nil {
		err = b.configure(cfg)
	}
	if b.h != nil {
		b.h.Close()
	}
	if err != nil {
		if b.file != nil {
			if cfg.Persist && !cfg.Existing {
				setPersist(b.file, false) // a TAP we created goes again
			}
			b.file.Close() // the kernel removes the non-persistent TAP
		}
		where := "current netns"
		if nsPath != "" {
			where = "netns " + nsPath
		}
		return nil, fmt.Errorf("tap %q (%s): %w", cfg.Name, where, err)
	}
	d := &Device{
		name:    cfg.Name,
		netns:   nsPath,
		index:   b.link.Attrs().Index,
		mac:     cfg.MAC,
		vnet:    !cfg.Plain,
		offload: b.offload,
		info:    newInfo(cfg.Name, cfg.MTU, b.offload),
		file:    b.file,
		rc:      b.rc,
	}
	d.rd.readFn = d.read
	d.wr.writeFn = d.write
	return d, nil
}

// inNetns runs fn in the namespace at path, or on the calling goroutine
// when path is empty.
func inNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return nsutil.Do(path, fn)
}

// builder holds what Open has created so far.
type builder struct {
	h       *netlink.Handle
	file    *os.File
	rc      syscall.RawConn
	link    netlink.Link
	offload bool
}

// create runs inside the target namespace: it opens a netlink socket there,
// checks that the name is free and creates the TAP device.
func (b *builder) create(cfg Config) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	b.h = h
	link, err := h.LinkByName(cfg.Name)
	switch {
	case err == nil && !cfg.Existing:
		return ErrExists
	case err != nil && !errors.As(err, new(netlink.LinkNotFoundError)):
		return fmt.Errorf("looking up interface: %w", err)
	case err != nil && cfg.Existing:
		return fmt.Errorf("no existing TAP to open: %w", err)
	case cfg.Existing:
		if tt, ok := link.(*netlink.Tuntap); !ok || tt.Mode != netlink.TUNTAP_MODE_TAP {
			return fmt.Errorf("existing interface is a %s, not a TAP", link.Type())
		}
	}
	if cfg.Plain {
		b.file, err = openPlain(cfg.Name, cfg.Existing)
	} else {
		b.file, b.offload, err = openFast(cfg.Name, cfg.Existing)
	}
	if err != nil {
		return err
	}
	if cfg.Persist && !cfg.Existing {
		if err = setPersist(b.file, true); err != nil {
			return err
		}
	}
	if b.rc, err = b.file.SyscallConn(); err != nil {
		return fmt.Errorf("tun fd: %w", err)
	}
	if b.link, err = h.LinkByName(cfg.Name); err != nil {
		return fmt.Errorf("looking up the new interface: %w", err)
	}
	if cfg.StaticIPv6 {
		return ignoreRA(cfg.Name)
	}
	return nil
}

// ignoreRA turns router advertisements and SLAAC off for the interface
// name in the calling thread's namespace (before the link comes up).
func ignoreRA(name string) error {
	for _, k := range []string{"accept_ra", "autoconf"} {
		p := "/proc/sys/net/ipv6/conf/" + name + "/" + k
		if err := os.WriteFile(p, []byte("0"), 0); err != nil {
			return fmt.Errorf("ignoring router advertisements: %w", err)
		}
	}
	return nil
}

// openFast creates a TAP (or attaches to the existing persistent one)
// with a virtio-net header and asks for checksum and TCP segmentation
// offloads; offload is false if the kernel refuses.
func openFast(name string, existing bool) (f *os.File, offload bool, err error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, false, fmt.Errorf("ifreq: %w", err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return nil, false, fmt.Errorf("TUNSETIFF: %w", err)
	}
	// TUNSETIFF attaches to a persistent TAP of the same name created since
	// the name check; we never set IFF_PERSIST, so its presence means that.
	if err = unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		return nil, false, fmt.Errorf("TUNGETIFF: %w", err)
	}
	if ifr.Uint16()&unix.IFF_PERSIST != 0 && !existing {
		return nil, false, fmt.Errorf("persistent TAP: %w", ErrExists)
	}
	offload = true
	if unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunFCsum|tunFTSO4|tunFTSO6) != nil {
		offload = false
		if err = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, 0); err != nil {
			return nil, false, fmt.Errorf("TUNSETOFFLOAD(0): %w", err)
		}
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), offload, nil
}

// openPlain creates a TAP (or attaches to the existing persistent one)
// without a virtio-net header with water. water always sets the persist
// flag: an existing TAP keeps it, a new one does not get it.
func openPlain(name string, existing bool) (*os.File, error) {
	// water opens /dev/net/tun without O_CLOEXEC: hold the fork lock until
	// the flag is set so no child process inherits the fd (which would keep
	// the interface alive after Close).
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	ifce, err := water.New(water.Config{
		DeviceType: water.TAP,
		PlatformSpecificParams: water.PlatformSpecificParams{
			Name:    name,
			Persist: existing,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("water: %w", err)
	}
	f, ok := ifce.ReadWriteCloser.(*os.File)
	if !ok {
		ifce.Close()
		return nil, fmt.Errorf("water returned %T, want *os.File", ifce.ReadWriteCloser)
	}
	var oerr error
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			syscall.CloseOnExec(int(fd))
			if existing {
				// Offloads belong to the device: a fast Open before
				// may have left them on, and plain frames need none.
				oerr = unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, 0)
			}
		})
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("setting close-on-exec: %w", err)
	}
	if oerr != nil {
		f.Close()
		return nil, fmt.Errorf("TUNSETOFFLOAD(0): %w", oerr)
	}
	return f, nil
}

// configure sets up the new interface through the namespace's netlink
// handle.
func (b *builder) configure(cfg Config) error {
	h, link := b.h, b.link
	if err := h.LinkSetMTU(link, cfg.MTU); err != nil {
		return fmt.Errorf("setting MTU %d: %w", cfg.MTU, err)
	}
	if err := h.LinkSetHardwareAddr(link, cfg.MAC); err != nil {
		return fmt.Errorf("setting MAC %v: %w", cfg.MAC, err)
	}
	if err := h.LinkSetTxQLen(link, cfg.TxQueueLen); err != nil {
		return fmt.Errorf("setting txqueuelen %d: %w", cfg.TxQueueLen, err)
	}
	for _, p := range cfg.Addrs {
		ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		addr := h.AddrAdd
		if cfg.Existing {
			addr = h.AddrReplace // it may still have it from an earlier Open
		}
		na := &netlink.Addr{IPNet: ipn}
		if p.Addr().Is6() {
			na.Flags = unix.IFA_F_NODAD
		}
		if err := addr(link, na); err != nil {
			return fmt.Errorf("adding address %v: %w", p, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("setting link up: %w", err)
	}
	if cfg.Gateway.IsValid() {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: cfg.Gateway.AsSlice()}
		route := h.RouteAdd
		if cfg.Existing {
			route = h.RouteReplace // it may still be there from an earlier Open
		}
		if err := route(r); err != nil {
			return fmt.Errorf("adding default route via %v: %w", cfg.Gateway, err)
		}
	}
	if cfg.Gateway6.IsValid() {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: cfg.Gateway6.AsSlice(), Family: netlink.FAMILY_V6}
		route := h.RouteAdd
		if cfg.Existing {
			route = h.RouteReplace
		}
		if err := route(r); err != nil {
			return fmt.Errorf("adding IPv6 default route via %v: %w", cfg.Gateway6, err)
		}
	}
	return nil
}
