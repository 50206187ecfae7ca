package gateway

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"

	"github.com/switchyard/switchyard/flow/netstack"
)

// DialTCP opens a connection from the gateway's stack to dst, an endpoint
// of the network, on behalf of client src (a published port's userspace
// path). The endpoint sees src as the source when its replies route back
// through the gateway (src is outside the network and not loopback);
// otherwise it sees the gateway's address. The signature matches
// proxy.Dialer; the connections can wait for input without a buffer
// (flow.ReadWaiter).
func (g *Gateway) DialTCP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	local, remote, err := g.dialAddrs(src, dst)
	if err != nil {
		return nil, err
	}
	c, err := netstack.DialTCP(ctx, g.stack, local, remote, proto(dst))
	if err != nil {
		return nil, fmt.Errorf("gateway: dial %s as %s: %w", dst, src.Addr(), err)
	}
	return c, nil
}

// DialUDP is DialTCP for UDP: a connected socket in the gateway's stack.
func (g *Gateway) DialUDP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	local, remote, err := g.dialAddrs(src, dst)
	if err != nil {
		return nil, err
	}
	c, err := netstack.DialUDP(g.stack, local, remote, proto(dst))
	if err != nil {
		return nil, fmt.Errorf("gateway: dial udp %s as %s: %w", dst, src.Addr(), err)
	}
	return c, nil
}

// proto is the network protocol of a dial to dst.
func proto(dst netip.AddrPort) tcpip.NetworkProtocolNumber {
	if dst.Addr().Is6() {
		return ipv6.ProtocolNumber
	}
	return ipv4.ProtocolNumber
}

// dialAddrs picks the source a published port's connection uses.
func (g *Gateway) dialAddrs(src, dst netip.AddrPort) (tcpip.FullAddress, tcpip.FullAddress, error) {
	if dst.Addr().Is6() {
		return g.dialAddrs6(src, dst)
	}
	if !dst.Addr().Is4() || !g.cfg.Subnet.Contains(dst.Addr()) {
		return tcpip.FullAddress{}, tcpip.FullAddress{}, fmt.Errorf("gateway: %s is not in the network %s", dst, g.cfg.Subnet)
	}
	s := src.Addr().Unmap()
	if !s.Is4() || s.IsLoopback() || s.IsUnspecified() || s.IsLinkLocalUnicast() || s.IsMulticast() || g.cfg.Subnet.Contains(s) {
		s = g.cfg.Address
	}
	local := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(s.As4())}
	remote := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(dst.Addr().As4()), Port: dst.Port()}
	return local, remote, nil
}

// dialAddrs6 is dialAddrs for an endpoint's IPv6 address: the client's
// own IPv6 address is the source unless it is loopback, link-local or in
// the network (then the gateway's IPv6 address is).
func (g *Gateway) dialAddrs6(src, dst netip.AddrPort) (tcpip.FullAddress, tcpip.FullAddress, error) {
	if !g.cfg.Subnet6.IsValid() || !g.cfg.Subnet6.Contains(dst.Addr()) {
		return tcpip.FullAddress{}, tcpip.FullAddress{}, fmt.Errorf("gateway: %s is not in the network %s", dst, g.cfg.Subnet6)
	}
	s := src.Addr()
	if !s.Is6() || s.Is4In6() || s.IsLoopback() || s.IsUnspecified() || s.IsLinkLocalUnicast() || s.IsMulticast() || g.cfg.Subnet6.Contains(s) {
		s = g.cfg.Address6
	}
	local := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(s.WithZone("").As16())}
	remote := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(dst.Addr().As16()), Port: dst.Port()}
	return local, remote, nil
}
