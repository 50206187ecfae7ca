package daemon

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// hostPrefixes lists the IPv4 and IPv6 prefixes the daemon's namespace already
// uses: its routes (main table, default routes aside) and addresses,
// except those on switchyard's own host ports.
func hostPrefixes() ([]hostPrefix, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	var out []hostPrefix
	routes, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || isHostPortName(names[r.LinkIndex]) {
			continue
		}
		if p, ok := toPrefix(r.Dst.IP, r.Dst.Mask); ok && p.Bits() > 0 {
			out = append(out, hostPrefix{p, fmt.Sprintf("the host's route %s dev %s", p, names[r.LinkIndex])})
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if isHostPortName(names[a.LinkIndex]) {
			continue
		}
		if p, ok := toPrefix(a.IP, a.Mask); ok {
			out = append(out, hostPrefix{p.Masked(), fmt.Sprintf("the host's address %s on %s", p, names[a.LinkIndex])})
		}
	}
	return out, nil
}

func toPrefix(ip []byte, mask []byte) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Prefix{}, false
	}
	ones := 0
	for _, b := range mask {
		for ; b&0x80 != 0; b <<= 1 {
			ones++
		}
	}
	return netip.PrefixFrom(a.Unmap(), ones), true
}
