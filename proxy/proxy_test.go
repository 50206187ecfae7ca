package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

func TestAddRemoveAtRunTime(t *testing.T) {
	backend := tcpEcho(t, "127.0.0.1:0")
	ubackend := udpEcho(t, "127.0.0.1:0")
	p := newProxy(t, Config{})
	id1, ln1 := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	id2, ln2 := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: ubackend})
	if l := p.List(); len(l) != 2 || l[0].ID != id1 || l[1].ID != id2 || l[0].Proto != TCP || l[1].Backend != ubackend {
		t.Fatalf("List: %+v", l)
	}
	open := dialTCP(t, ln1)
	echoTCP(t, open, "before")
	echoUDP(t, udpClient(t, "127.0.0.1:0"), ln2, []byte("udp"))
	// TCP byte counts move when a direction ends (or every spliceChunk);
	// UDP ones right after the datagram was passed on.
	waitFor(t, "UDP counts", func() bool { return p.Stats().BytesIn >= 3 })
	if s := p.Stats(); s.Accepted != 2 || s.Active != 2 || s.BytesIn < 3 {
		t.Fatalf("Stats: %+v", s)
	}
	if s := p.StatsOf([]ID{id2, 999}); s.Accepted != 1 || s.DatagramsIn != 1 || s.BytesIn != 3 {
		t.Fatalf("StatsOf the UDP mapping: %+v", s)
	}

	if err := p.Remove(id1); err != nil {
		t.Fatal(err)
	}
	// Removing a mapping closes its open connections and its port.
	if _, err := io.ReadAll(open); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("open connection after Remove: %v", err)
	}
	if _, err := net.Dial("tcp", ln1.String()); err == nil {
		t.Fatal("port still open after Remove")
	}
	if err := p.Remove(id1); !errors.Is(err, ErrUnknownMapping) {
		t.Fatalf("second Remove: %v", err)
	}
	if l := p.List(); len(l) != 1 || l[0].ID != id2 {
		t.Fatalf("List after Remove: %+v", l)
	}
	// The port can be mapped again at once.
	_, again := add(t, p, Mapping{Proto: TCP, Listen: ln1, Backend: backend})
	echoTCP(t, dialTCP(t, again), "after")
}

func TestAddErrors(t *testing.T) {
	p := newProxy(t, Config{})
	busy := freePort(t, "tcp", "127.0.0.1:0")
	ln, err := net.Listen("tcp", busy.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	backend := netip.MustParseAddrPort("127.0.0.1:80")
	for _, tc := range []struct {
		m    Mapping
		want string
	}{
		{Mapping{Proto: "sctp", Listen: busy, Backend: backend}, "unsupported protocol sctp"},
		{Mapping{Proto: TCP, Backend: backend}, "without a listen address"},
		{Mapping{Proto: TCP, Listen: busy}, "bad backend address"},
		{Mapping{Proto: TCP, Listen: busy, Backend: netip.MustParseAddrPort("127.0.0.1:0")}, "bad backend address"},
		{Mapping{Proto: TCP, Listen: busy, Backend: backend},
			fmt.Sprintf("failed to listen on %s: listen tcp4 %s: bind: address already in use", busy, busy)},
	} {
		if _, err := p.Add(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%+v): %v; want %q", tc.m, err, tc.want)
		}
	}
	if !errors.Is(mustAddErr(p, Mapping{Proto: TCP, Listen: busy, Backend: backend}), syscall.EADDRINUSE) {
		t.Error("bind error not wrapped")
	}
	// A socket handed over is closed when Add fails.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := mustAddErr(p, Mapping{Proto: UDP, Listener: other, Backend: backend}); err == nil || !strings.Contains(err.Error(), "takes a PacketConn") {
		t.Errorf("UDP mapping with a Listener: %v", err)
	}
	if _, err := other.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed after a failed Add: %v", err)
	}
	p.Close()
	if _, err := p.Add(Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}

func mustAddErr(p *Proxy, m Mapping) error {
	_, err := p.Add(m)
	return err
}

// TestPortRange: one Proxy listens on 1000 ports; Close releases them all.
func TestPortRange(t *testing.T) {
	const n = 1000
	backend := tcpEcho(t, "127.0.0.1:0")
	d := &recordingDialer{target: backend}
	p := New(Config{Dialer: d}, testLog(t))
	defer p.Close()
	var first netip.AddrPort
	var ids []ID
	var err error
	for base := 20000; base < 30000; base += n {
		first = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(base))
		ids, err = p.AddRange(Mapping{Proto: TCP, Listen: first, Backend: netip.MustParseAddrPort("127.0.0.1:8000")}, n)
		if err == nil {
			break
		}
		if len(p.List()) != 0 {
			t.Fatalf("failed AddRange left %d mappings", len(p.List()))
		}
	}
	if err != nil {
		nstest.Skipf(t, "no free range of %d ports: %v", n, err)
	}
	if len(ids) != n || len(p.List()) != n {
		t.Fatalf("%d IDs, %d mappings; want %d", len(ids), len(p.List()), n)
	}
	for _, i := range []int{0, 1, 499, 998, 999} {
		c := dialTCP(t, addPort(first, i))
		echoTCP(t, c, fmt.Sprintf("port %d", i))
		c.Close()
	}
	d.mu.Lock()
	if last := d.dst[len(d.dst)-1]; last != netip.MustParseAddrPort("127.0.0.1:8999") {
		t.Errorf("last dial to %v; want backend port 8999", last)
	}
	d.mu.Unlock()
	if s := p.Stats(); s.Accepted != 5 {
		t.Errorf("Stats: %+v", s)
	}
	p.Close()
	if l := p.List(); len(l) != 0 {
		t.Fatalf("%d mappings after Close", len(l))
	}
	for i := range n {
		ln, err := net.Listen("tcp", addPort(first, i).String())
		if err != nil {
			t.Fatalf("port %d not released: %v", first.Port()+uint16(i), err)
		}
		ln.Close()
	}
}

func TestAddRangeErrors(t *testing.T) {
	p := newProxy(t, Config{})
	m := Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:65000"), Backend: netip.MustParseAddrPort("127.0.0.1:65000")}
	if _, err := p.AddRange(m, 600); err == nil {
		t.Fatal("range past port 65535 accepted")
	}
	if _, err := p.AddRange(m, 0); err == nil {
		t.Fatal("empty range accepted")
	}
}

// TestPreboundSockets: mappings serve sockets opened elsewhere (as
// docker-proxy's fd 4), including a wildcard UDP socket.
func TestPreboundSockets(t *testing.T) {
	backend := tcpEcho(t, "127.0.0.1:0")
	ubackend := udpEcho(t, "127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, Config{})
	_, tl := add(t, p, Mapping{Proto: TCP, Listener: ln, Backend: backend})
	_, ul := add(t, p, Mapping{Proto: UDP, PacketConn: pc, Backend: ubackend})
	echoTCP(t, dialTCP(t, tl), "tcp")
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), ul.Port())
	if from := echoUDP(t, udpClient(t, "127.0.0.1:0"), to, []byte("udp")); from != to {
		t.Fatalf("reply from %v; want %v", from, to)
	}
	p.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("listener not closed by Close: %v", err)
	}
}

// TestCloseEndsGoroutines: Close returns once every goroutine of the
// Proxy (accept and receive loops, relays, UDP flows) has ended.
func TestCloseEndsGoroutines(t *testing.T) {
	backend := tcpEcho(t, "127.0.0.1:0")
	ubackend := udpEcho(t, "127.0.0.1:0")
	c := udpClient(t, "127.0.0.1:0")
	before := runtime.NumGoroutine()
	p := New(Config{}, testLog(t))
	_, tl := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	_, ul := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: ubackend})
	open := dialTCP(t, tl)
	echoTCP(t, open, "relay running")
	echoUDP(t, c, ul, []byte("flow running"))
	if n := runtime.NumGoroutine(); n < before+5 {
		t.Fatalf("%d goroutines, %d before: proxy not running?", n, before)
	}
	p.Close()
	open.Close() // the echo server's side of it ends too
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
