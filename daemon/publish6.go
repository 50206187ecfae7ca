package daemon

import (
	"context"
	"net"
	"net/netip"

	"github.com/switchyard/switchyard/gateway"
)

// backend6 is the IPv6 address of the endpoint at the IPv4 address a
// (zero when none of the network's endpoints has both); d.mu must be
// held.
func (n *network) backend6(a netip.Addr) netip.Addr {
	for _, ep := range n.endpoints {
		if ep.addr == a {
			return ep.addr6
		}
	}
	return netip.Addr{}
}

// dualDialer dials a published port's backend through the gateway: an
// IPv6 client reaches the endpoint's IPv6 address, keeping its own
// address as the source, when the endpoint has one; every other client
// the IPv4 backend.
type dualDialer struct {
	gw       *gateway.Gateway
	backend6 netip.Addr
}

// DialTCP implements proxy.Dialer.
func (d dualDialer) DialTCP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	return d.gw.DialTCP(ctx, src, d.pick(src, dst))
}

// DialUDP implements proxy.Dialer.
func (d dualDialer) DialUDP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	return d.gw.DialUDP(ctx, src, d.pick(src, dst))
}

func (d dualDialer) pick(src, dst netip.AddrPort) netip.AddrPort {
	if d.backend6.IsValid() && src.Addr().Is6() && !src.Addr().Is4In6() {
		return netip.AddrPortFrom(d.backend6, dst.Port())
	}
	return dst
}
