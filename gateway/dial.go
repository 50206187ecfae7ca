package gateway

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

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
	c, err := netstack.DialTCP(ctx, g.stack, local, remote, ipv4.ProtocolNumber)
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
	c, err := netstack.DialUDP(g.stack, local, remote, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("gateway: dial udp %s as %s: %w", dst, src.Addr(), err)
	}
	return c, nil
}

// dialAddrs picks the source a published port's connection uses.
func (g *Gateway) dialAddrs(src, dst netip.AddrPort) (tcpip.FullAddress, tcpip.FullAddress, error) {
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
