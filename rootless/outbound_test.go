package rootless

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

// TestOutboundDialerBindsTCPAndUDP checks --outbound-addr applies to both
// protocols (loopback addresses stand in for the host's).
func TestOutboundDialerBindsTCPAndUDP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dial := outboundDialer(netip.MustParseAddr("127.0.0.2"), netip.Addr{})
	for _, tc := range []struct{ network, addr string }{{"tcp", ln.Addr().String()}, {"udp", pc.LocalAddr().String()}} {
		c, err := dial(context.Background(), tc.network, tc.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.network, err)
		}
		host, _, _ := net.SplitHostPort(c.LocalAddr().String())
		c.Close()
		if host != "127.0.0.2" {
			t.Errorf("%s left from %s, want 127.0.0.2", tc.network, host)
		}
	}
	if outboundDialer(netip.Addr{}, netip.Addr{}) != nil {
		t.Error("no outbound address should mean the NAT's default dialer")
	}
}
