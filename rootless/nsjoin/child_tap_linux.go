package nsjoin

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Offload flags of TUNSETOFFLOAD (linux/if_tun.h).
const (
	tunFCsum = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
)

// openTap runs in the child: it attaches to (or creates) the TAP, configures
// it when asked and describes the result. The descriptor is non-blocking.
func openTap(tc TapConfig) (fd int, info tapReply, err error) {
	fd = -1
	if tc.VnetHdr {
		fd, err = attach(tc.Name, true)
		if err == nil {
			if oerr := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunFCsum|tunFTSO4|tunFTSO6); oerr != nil {
				unix.Close(fd)
				fd = -1
				info.Fallback = fmt.Sprintf("TUNSETOFFLOAD: %v", oerr)
			} else {
				info.VnetHdr, info.Offload = true, true
			}
		} else {
			info.Fallback = err.Error()
		}
	}
	if fd < 0 {
		if fd, err = attach(tc.Name, false); err != nil {
			return -1, info, explainPerm(err)
		}
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return -1, info, fmt.Errorf("ifreq: %w", err)
	}
	if err = unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		return -1, info, fmt.Errorf("TUNGETIFF: %w", err)
	}
	info.Name = ifr.Name() // a template like tap%d is resolved now
	link, err := netlink.LinkByName(info.Name)
	if err != nil {
		return -1, info, fmt.Errorf("looking up %s: %w", info.Name, err)
	}
	if tc.Configure {
		if err = configure(link, tc); err != nil {
			return -1, info, explainPerm(err)
		}
		if link, err = netlink.LinkByIndex(link.Attrs().Index); err != nil {
			return -1, info, fmt.Errorf("looking up %s: %w", info.Name, err)
		}
	}
	a := link.Attrs()
	info.Index, info.MTU, info.MAC = a.Index, a.MTU, a.HardwareAddr.String()
	return fd, info, nil
}

// attach opens /dev/net/tun and issues TUNSETIFF for a TAP called name,
// which creates it or attaches to an existing one.
func attach(name string, vnet bool) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ifreq: %w", err)
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if vnet {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF: %w", err)
	}
	return fd, nil
}

// configure does what `slirp4netns --configure` does: loopback up, MTU,
// MAC, address, link up, default route via the gateway.
func configure(link netlink.Link, tc TapConfig) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("looking up lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("setting lo up: %w", err)
	}
	if err := netlink.LinkSetMTU(link, tc.MTU); err != nil {
		return fmt.Errorf("setting MTU %d: %w", tc.MTU, err)
	}
	if tc.MAC != nil {
		if err := netlink.LinkSetHardwareAddr(link, tc.MAC); err != nil {
			return fmt.Errorf("setting MAC %v: %w", tc.MAC, err)
		}
	}
	a := tc.Addr.Addr()
	ipn := &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(tc.Addr.Bits(), a.BitLen())}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("adding address %v: %w", tc.Addr, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("setting %s up: %w", link.Attrs().Name, err)
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: tc.Gateway.AsSlice()}
	if err := netlink.RouteAdd(r); err != nil {
		return fmt.Errorf("adding default route via %v: %w", tc.Gateway, err)
	}
	return nil
}

// explainPerm adds a hint to a permission error: usually the caller's UID
// is not root in the target user namespace, or /dev/net/tun is 0600.
func explainPerm(err error) error {
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return err
	}
	var hint []string
	if !hasCap(unix.CAP_NET_ADMIN) {
		uidMap, _ := os.ReadFile("/proc/self/uid_map")
		hint = append(hint, fmt.Sprintf("no CAP_NET_ADMIN here: uid %d is not root in the target user namespace (uid_map %q)",
			os.Geteuid(), strings.Join(strings.Fields(string(uidMap)), " ")))
	}
	if strings.Contains(err.Error(), "/dev/net/tun") {
		if fi, serr := os.Stat("/dev/net/tun"); serr == nil {
			hint = append(hint, fmt.Sprintf("/dev/net/tun is mode %#o; rootless use needs it 0666 "+
				"(Debian 12 ships 0600): chmod 0666 /dev/net/tun, or the udev rule KERNEL==\"tun\", MODE=\"0666\"", fi.Mode().Perm()))
		}
	}
	if len(hint) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(hint, "; "))
}

// hasCap reports whether c is in the effective capability set.
func hasCap(c uint) bool { return nsutil.HasCap(c) }
