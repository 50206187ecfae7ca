package proxy

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkTCPThroughput compares bulk TCP through the proxy with a direct
// connection on loopback (compare the MB/s of the two sub-benchmarks).
func BenchmarkTCPThroughput(b *testing.B) {
	sink := tcpServer(b, "127.0.0.1:0", func(c *net.TCPConn) {
		io.Copy(io.Discard, c)
		c.Write([]byte{1})
	})
	p := newProxy(b, Config{})
	_, ln := add(b, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: sink})
	for _, bc := range []struct {
		name string
		addr netip.AddrPort
	}{{"direct", sink}, {"proxy", ln}} {
		b.Run(bc.name, func(b *testing.B) {
			const chunk = 1 << 20
			buf := make([]byte, chunk)
			c := dialTCP(b, bc.addr)
			c.SetDeadline(time.Time{})
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.CloseWrite()
			if _, err := io.ReadFull(c, buf[:1]); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkTCPConnect measures connect, 64-byte echo and close through the
// proxy.
func BenchmarkTCPConnect(b *testing.B) {
	backend := tcpEcho(b, "127.0.0.1:0")
	p := newProxy(b, Config{})
	_, ln := add(b, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	msg := make([]byte, 64)
	for range b.N {
		c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(ln))
		if err != nil {
			b.Fatal(err)
		}
		c.Write(msg)
		io.ReadFull(c, msg)
		c.Close()
	}
}

// BenchmarkUDPRoundTrip measures a 64-byte UDP round trip through the
// proxy.
func BenchmarkUDPRoundTrip(b *testing.B) {
	backend := udpEcho(b, "127.0.0.1:0")
	p := newProxy(b, Config{})
	_, ln := add(b, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("0.0.0.0:0"), Backend: backend})
	c := udpClient(b, "127.0.0.1:0")
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ln.Port())
	msg := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.WriteToUDPAddrPort(msg, to)
		if _, _, err := c.ReadFromUDPAddrPort(msg); err != nil {
			b.Fatal(err)
		}
	}
}
