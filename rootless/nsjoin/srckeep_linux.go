package nsjoin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A port forward that keeps the client's source address dials the guest
// from a transparent socket (IP_TRANSPARENT, IPV6_TRANSPARENT) bound to
// the client's address. The guest's replies go to that address, which is
// not local in the namespace, so they need policy routing back to the
// socket:
//
//   - the dialing socket marks its packets (SO_MARK srcMark);
//   - TCP: net.ipv4.tcp_fwmark_accept=1 makes the guest's accepted socket
//     take the mark of the SYN, so all its replies carry it too;
//   - UDP (and TCP alike): an nftables output chain of type route saves the
//     mark in the connection's conntrack mark and puts it back on the
//     guest's replies, which are then routed again (srckeep_nft_linux.go);
//   - a rule per family sends marked packets to table srcTable, whose one
//     route makes every destination local.
//
// Only marked packets are affected; the guest's own traffic is not.
const (
	srcMark     = 0x5377 // "Sw"
	srcTable    = 0x5377
	srcRulePrio = 100 // before the main table (32766)
	fwmarkPath  = "/proc/sys/net/ipv4/tcp_fwmark_accept"
)

// srcKeeper sets the routing up on first use and undoes it at exit. Its
// methods are safe for concurrent use.
type srcKeeper struct {
	once   sync.Once
	err    error    // why sources cannot be kept, if they cannot
	err6   error    // why IPv6 sources cannot be (IPv6 routing)
	errUDP error    // why UDP sources cannot be (the conntrack mark)
	undo   []func() // in reverse order of setup
}

// ready sets the namespace up once and reports whether sources can be
// kept for a dial of network ("tcp" or "udp") from src.
func (k *srcKeeper) ready(network string, src netip.Addr) error {
	k.once.Do(func() {
		if k.err = k.setup(); k.err != nil {
			k.close()
			return
		}
		k.err6 = k.setup6()
		k.errUDP = k.setupConnmark()
	})
	switch {
	case k.err != nil:
		return k.err
	case src.Is6() && k.err6 != nil:
		return k.err6
	case network == "udp" && k.errUDP != nil:
		return k.errUDP
	}
	return nil
}

func (k *srcKeeper) setup() error {
	old, err := os.ReadFile(fwmarkPath)
	if err != nil {
		return fmt.Errorf("read %s: %w", fwmarkPath, err)
	}
	if strings.TrimSpace(string(old)) != "1" {
		if err := os.WriteFile(fwmarkPath, []byte("1"), 0); err != nil {
			return fmt.Errorf("set %s: %w", fwmarkPath, err)
		}
		k.undo = append(k.undo, func() { _ = os.WriteFile(fwmarkPath, old, 0) })
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	route := &netlink.Route{LinkIndex: lo.Attrs().Index, Table: srcTable, Type: unix.RTN_LOCAL,
		Scope: netlink.SCOPE_HOST, Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}
	// One helper serves a namespace (as with slirp4netns): a rule or route
	// already there is a leftover of a helper that was killed, and is taken
	// over, so that this one's exit removes it.
	if err := netlink.RouteAdd(route); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("local route in table %d: %w", srcTable, err)
	}
	k.undo = append(k.undo, func() { _ = netlink.RouteDel(route) })
	rule := netlink.NewRule()
	rule.Family, rule.Mark, rule.Table, rule.Priority = unix.AF_INET, srcMark, srcTable, srcRulePrio
	mask := uint32(0xffffffff)
	rule.Mask = &mask
	if err := netlink.RuleAdd(rule); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("rule fwmark %#x: %w", srcMark, err)
	}
	k.undo = append(k.undo, func() { _ = netlink.RuleDel(rule) })
	return nil
}

// setup6 adds the IPv6 rule and route.
func (k *srcKeeper) setup6() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	route := &netlink.Route{LinkIndex: lo.Attrs().Index, Table: srcTable, Type: unix.RTN_LOCAL,
		Scope: netlink.SCOPE_HOST, Dst: &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}
	if err := netlink.RouteAdd(route); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("IPv6 local route in table %d: %w", srcTable, err)
	}
	k.undo = append(k.undo, func() { _ = netlink.RouteDel(route) })
	rule := netlink.NewRule()
	rule.Family, rule.Mark, rule.Table, rule.Priority = unix.AF_INET6, srcMark, srcTable, srcRulePrio
	mask := uint32(0xffffffff)
	rule.Mask = &mask
	if err := netlink.RuleAdd(rule); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("IPv6 rule fwmark %#x: %w", srcMark, err)
	}
	k.undo = append(k.undo, func() { _ = netlink.RuleDel(rule) })
	return nil
}

// shutdown undoes the setup, waiting for one in progress; no setup
// follows it.
func (k *srcKeeper) shutdown() {
	k.once.Do(func() { k.err = errors.New("nsjoin: agent shutting down") })
	k.close()
}

// close undoes what setup did.
func (k *srcKeeper) close() {
	for i := len(k.undo) - 1; i >= 0; i-- {
		k.undo[i]()
	}
	k.undo = nil
}

// errTransparent marks a dialFrom failure to set the socket up (options,
// bind), after which a plain dial can still reach the guest.
var errTransparent = errors.New("transparent socket")

// dialFrom connects network ("tcp" or "udp") to dst from src with a
// transparent, marked socket.
func dialFrom(ctx context.Context, network string, src netip.Addr, dst string) (net.Conn, error) {
	level, opt := unix.SOL_IP, unix.IP_TRANSPARENT
	if src.Is6() {
		level, opt = unix.SOL_IPV6, unix.IPV6_TRANSPARENT
	}
	d := net.Dialer{
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				if serr = unix.SetsockoptInt(int(fd), level, opt, 1); serr != nil {
					serr = fmt.Errorf("transparent: %w", serr)
				} else if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, srcMark); serr != nil {
					serr = fmt.Errorf("SO_MARK: %w", serr)
				}
			})
			if err = errors.Join(err, serr); err != nil {
				return fmt.Errorf("%w: %w", errTransparent, err)
			}
			return nil
		},
	}
	if network == "udp" {
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	} else {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	c, err := d.DialContext(ctx, network, dst)
	var se *os.SyscallError
	if errors.As(err, &se) && se.Syscall == "bind" {
		err = fmt.Errorf("%w: bind %v: %w", errTransparent, src, err)
	}
	return c, err
}

// localTarget says why a dial to dst cannot keep its source, or "": only a
// destination local to the namespace (the guest's own address) can, since
// the marked packets are all routed locally.
func localTarget(dst netip.Addr) string {
	routes, err := netlink.RouteGet(dst.AsSlice())
	switch {
	case err != nil:
		return fmt.Sprintf("route to %v: %v", dst, err)
	case len(routes) == 0 || routes[0].Type != unix.RTN_LOCAL:
		return fmt.Sprintf("%v is not an address of the namespace", dst)
	}
	return ""
}

// keepable says why src cannot be kept for a dial of network to dst, or "".
func keepable(network string, src, dst netip.Addr) string {
	switch {
	case network != "tcp" && network != "udp":
		return "only TCP and UDP forwards keep the client's address"
	case src.Is4() != dst.Is4() || src.Is4In6() || dst.Is4In6():
		return fmt.Sprintf("cannot dial %v from %v: the families differ", dst, src)
	case src.IsUnspecified() || src.IsMulticast() || dst.IsLoopback():
		return fmt.Sprintf("cannot dial %v from %v", dst, src)
	}
	return ""
}

// addrs answers an "addrs" request: the TAP's global IPv6 addresses that
// are usable (not tentative, not failed duplicate detection).
func (s *server) addrs(id uint64) {
	link, err := netlink.LinkByName(s.tap)
	if err != nil {
		_ = sendMsg(s.conn, errReply(id, fmt.Errorf("%s: %w", s.tap, err)), -1)
		return
	}
	list, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		_ = sendMsg(s.conn, errReply(id, fmt.Errorf("%s addresses: %w", s.tap, err)), -1)
		return
	}
	out := []string{}
	for _, a := range list {
		if a.Scope == unix.RT_SCOPE_UNIVERSE && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			out = append(out, a.IP.String())
		}
	}
	_ = sendMsg(s.conn, reply{ID: id, Addrs: out}, -1)
}
