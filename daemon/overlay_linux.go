package daemon

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// defaultUnderlayMTU is assumed when no interface tells better.
const defaultUnderlayMTU = 1500

// underlayMTU finds the MTU of the underlay interface: the one holding
// local, else the one routing to peer, else the default route's.
func underlayMTU(local, peer netip.Addr) int {
	if local.IsValid() {
		if links, err := netlink.LinkList(); err == nil {
			for _, l := range links {
				addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
				if err != nil {
					continue
				}
				for _, a := range addrs {
					if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == local.Unmap() {
						return l.Attrs().MTU
					}
				}
			}
		}
	}
	dst := net.IPv4(1, 1, 1, 1)
	if peer.IsValid() {
		dst = net.IP(peer.AsSlice())
	}
	if routes, err := netlink.RouteGet(dst); err == nil && len(routes) > 0 {
		if l, err := netlink.LinkByIndex(routes[0].LinkIndex); err == nil && l.Attrs().MTU > 0 {
			return l.Attrs().MTU
		}
	}
	return defaultUnderlayMTU
}
