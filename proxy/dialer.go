package proxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Dialer opens backend connections. src is the client's address: a
// netstack dialer may use it as the source so that the backend sees the
// real client; HostDialer ignores it. Implementations must honour ctx
// (the dial timeout and the mapping's removal). DialUDP runs on the
// mapping's receive path, so it should not wait for the network.
type Dialer interface {
	// DialTCP opens a TCP connection to dst on behalf of client src.
	DialTCP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error)
	// DialUDP opens a connected UDP socket to dst on behalf of client src.
	DialUDP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error)
}

// HostDialer dials through the host kernel; the backend sees the host's
// address as the source, as with docker-proxy.
type HostDialer struct {
	// KeepAlive is the TCP keepalive period (0: Go's default of 15 s;
	// negative: off).
	KeepAlive time.Duration
}

// DialTCP dials dst from the host; src is ignored.
func (d HostDialer) DialTCP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	nd := net.Dialer{KeepAlive: d.KeepAlive}
	c, err := nd.DialContext(ctx, "tcp", dst.String())
	if err != nil {
		return nil, fmt.Errorf("dial backend: %w", err)
	}
	return c, nil
}

// DialUDP opens a host UDP socket connected to dst; src is ignored.
func (d HostDialer) DialUDP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "udp", dst.String())
	if err != nil {
		return nil, fmt.Errorf("dial backend: %w", err)
	}
	return c, nil
}
