package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

func udpClient(t testing.TB, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestUDPEcho(t *testing.T) {
	for _, tc := range []struct{ name, listen, host string }{
		{"ipv4", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6", "[::1]:0", "::1"},
		{"ipv6-wildcard", "[::]:0", "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := udpEcho(t, net.JoinHostPort(tc.host, "0"))
			p := newProxy(t, Config{})
			id, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort(tc.listen), Backend: backend})
			to := netip.AddrPortFrom(netip.MustParseAddr(tc.host), ln.Port())
			c := udpClient(t, net.JoinHostPort(tc.host, "0"))
			big := bytes.Repeat([]byte{0xa5}, 65000)
			for _, msg := range [][]byte{[]byte("ping"), big, []byte("pong")} {
				if from := echoUDP(t, c, to, msg); from != to {
					t.Fatalf("reply from %v, want %v", from, to)
				}
			}
			// Counters are bumped after each send returns, so the echo
			// can reach the client before its datagram is counted.
			waitFor(t, "the last datagram's counts", func() bool {
				s := info(t, p, id).Stats
				return s.DatagramsIn == 3 && s.DatagramsOut == 3
			})
			s := info(t, p, id).Stats
			want := uint64(8 + len(big))
			if s.Accepted != 1 || s.Active != 1 || s.DatagramsIn != 3 || s.DatagramsOut != 3 || s.BytesIn != want || s.BytesOut != want {
				t.Fatalf("stats %+v; want one flow, 3 datagrams and %d bytes each way", s, want)
			}
		})
	}
}

// TestUDPReplySource: on a 0.0.0.0 listener the reply to a datagram sent
// to 127.0.0.2 comes from 127.0.0.2, not from the route's source.
func TestUDPReplySource(t *testing.T) {
	backend := udpEcho(t, "127.0.0.1:0")
	p := newProxy(t, Config{})
	_, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("0.0.0.0:0"), Backend: backend})
	c := udpClient(t, "127.0.0.1:0")
	for _, dst := range []string{"127.0.0.2", "127.0.0.1", "127.0.0.3"} {
		to := netip.AddrPortFrom(netip.MustParseAddr(dst), ln.Port())
		if from := echoUDP(t, c, to, []byte("where from?")); from != to {
			t.Fatalf("reply to a datagram sent to %v came from %v", to, from)
		}
	}
}

func TestUDPIdleExpiry(t *testing.T) {
	backend := udpEcho(t, "127.0.0.1:0")
	p := newProxy(t, Config{UDPIdleTimeout: 500 * time.Millisecond})
	id, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	c := udpClient(t, "127.0.0.1:0")
	echoUDP(t, c, ln, []byte("one"))
	// Activity keeps the flow: 7 datagrams 100 ms apart outlive 500 ms.
	for range 7 {
		time.Sleep(100 * time.Millisecond)
		echoUDP(t, c, ln, []byte("keep"))
	}
	if s := info(t, p, id).Stats; s.Accepted != 1 || s.Expired != 0 {
		t.Fatalf("stats %+v; want the one flow kept alive", s)
	}
	waitFor(t, "flow expiry", func() bool { return info(t, p, id).Stats.Active == 0 })
	echoUDP(t, c, ln, []byte("two"))
	if s := info(t, p, id).Stats; s.Accepted != 2 || s.Expired != 1 || s.Active != 1 {
		t.Fatalf("stats %+v; want 2 flows, 1 expired, 1 active", s)
	}
}

func TestUDPFlowCap(t *testing.T) {
	backend := udpEcho(t, "127.0.0.1:0")
	p := newProxy(t, Config{UDPMaxFlows: 2, UDPIdleTimeout: 300 * time.Millisecond})
	id, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	a, b, c := udpClient(t, "127.0.0.1:0"), udpClient(t, "127.0.0.1:0"), udpClient(t, "127.0.0.1:0")
	echoUDP(t, a, ln, []byte("a"))
	echoUDP(t, b, ln, []byte("b"))
	c.WriteToUDPAddrPort([]byte("c"), ln)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, _, err := c.ReadFromUDPAddrPort(make([]byte, 10)); err == nil {
		t.Fatal("a third flow was relayed past the cap of 2")
	}
	if s := info(t, p, id).Stats; s.Refused != 1 || s.Accepted != 2 {
		t.Fatalf("stats %+v; want 1 refused, 2 accepted", s)
	}
	echoUDP(t, a, ln, []byte("existing flows go on"))
	// Once flows expire there is room again.
	waitFor(t, "flows to expire", func() bool { return info(t, p, id).Stats.Active == 0 })
	echoUDP(t, c, ln, []byte("c again"))
}

func TestUDPBackendDown(t *testing.T) {
	backend := freePort(t, "udp", "127.0.0.1:0")
	p := newProxy(t, Config{})
	id, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	c := udpClient(t, "127.0.0.1:0")
	for range 3 {
		c.WriteToUDPAddrPort([]byte("anyone?"), ln)
		time.Sleep(20 * time.Millisecond)
	}
	// The flow survives the ICMP port unreachables; once the backend is
	// up, replies come.
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(backend))
	if err != nil {
		nstest.Skipf(t, "backend port taken meanwhile: %v", err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 100)
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err == nil {
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	echoUDP(t, c, ln, []byte("now?"))
	if s := info(t, p, id).Stats; s.Accepted != 1 {
		t.Fatalf("stats %+v; want one flow throughout", s)
	}
}

func TestUDPDialTimeout(t *testing.T) {
	p := newProxy(t, Config{DialTimeout: 50 * time.Millisecond})
	id, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"),
		Backend: netip.MustParseAddrPort("127.0.0.1:9"), Dialer: hangingDialer{}})
	c := udpClient(t, "127.0.0.1:0")
	c.WriteToUDPAddrPort([]byte("x"), ln)
	waitFor(t, "dial failure", func() bool { return info(t, p, id).Stats.DialFailures == 1 })
}

// TestUDPClientSource: the dialer hook gets the client's address.
func TestUDPClientSource(t *testing.T) {
	backend := udpEcho(t, "127.0.0.1:0")
	d := &recordingDialer{}
	p := newProxy(t, Config{Dialer: d})
	_, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("0.0.0.0:0"), Backend: backend})
	c := udpClient(t, "127.0.0.1:0")
	echoUDP(t, c, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ln.Port()), []byte("x"))
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.src) != 1 || d.src[0] != addrPortOf(c.LocalAddr()) {
		t.Fatalf("dialer saw %v; want %v", d.src, c.LocalAddr())
	}
}

// TestUDPReplySourceDualStack: an IPv4 client of a dual-stack [::]
// socket gets its reply from the address it sent to.
func TestUDPReplySourceDualStack(t *testing.T) {
	backend := udpEcho(t, "127.0.0.1:0")
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified}) // V6ONLY off
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, Config{})
	_, ln := add(t, p, Mapping{Proto: UDP, PacketConn: pc, Backend: backend})
	c := udpClient(t, "127.0.0.1:0")
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), ln.Port())
	if from := echoUDP(t, c, to, []byte("v4 on v6")); from != to {
		t.Fatalf("reply from %v; want %v", from, to)
	}
}
