package vxlan

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/port"
)

var (
	macA  = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB  = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
	macGW = net.HardwareAddr{2, 0, 0, 0, 0, 0x1}
	bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// ethFrame builds an Ethernet frame with an IPv4 ethertype and payload.
func ethFrame(dst, src net.HardwareAddr, payload string) []byte {
	b := append(append(append([]byte{}, dst...), src...), 0x08, 0x00)
	return append(b, payload...)
}

// freePort returns a UDP port free on 127.0.0.1 and 127.0.0.2.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// listen opens a socket on addr:port closed when t ends.
func listen(t *testing.T, addr string, p int) *Socket {
	t.Helper()
	s, err := Listen(Config{Addr: mustAddr(addr), Port: p})
	if err != nil {
		t.Fatalf("Listen %s:%d: %v", addr, p, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tunnel adds a tunnel closed when t ends.
func tunnel(t *testing.T, s *Socket, cfg TunnelConfig, peers ...string) *Tunnel {
	t.Helper()
	tu, err := s.Tunnel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tu.Close() })
	var ps []netip.Addr
	for _, p := range peers {
		ps = append(ps, mustAddr(p))
	}
	if err := tu.SetPeers(ps); err != nil {
		t.Fatal(err)
	}
	return tu
}

// send writes frames to a tunnel as the switch would.
func send(t *testing.T, tu *Tunnel, frames ...[]byte) {
	t.Helper()
	fs := make([]*port.Frame, len(frames))
	for i, b := range frames {
		fs[i] = port.Get(len(b))
		fs[i].SetData(b)
	}
	if n, err := tu.WriteFrames(fs); err != nil || n != len(fs) {
		t.Fatalf("WriteFrames = %d, %v", n, err)
	}
	for _, f := range fs {
		port.Put(f)
	}
}

// recvFrame reads one frame from tu, or nil after wait.
func recvFrame(tu *Tunnel, wait time.Duration) []byte {
	got := make(chan []byte, 1)
	go func() {
		f := port.Get(port.SmallBuf)
		if n, err := tu.ReadFrames([]*port.Frame{f}); err == nil && n == 1 {
			got <- append([]byte(nil), f.Data()...)
		}
	}()
	select {
	case b := <-got:
		return b
	case <-time.After(wait):
		return nil
	}
}

func TestFloodLearnUnicast(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 100}, "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 100}) // no peers: replies must use learning
	other := tunnel(t, b, TunnelConfig{VNI: 200}, "127.0.0.1")

	req := ethFrame(bcast, macA, "who has")
	send(t, ta, req)
	if got := recvFrame(tb, 2*time.Second); !bytes.Equal(got, req) {
		t.Fatalf("VNI 100 on b got % x, want % x", got, req)
	}
	if got := recvFrame(other, 200*time.Millisecond); got != nil {
		t.Fatalf("VNI 200 got a VNI 100 frame: % x", got)
	}
	es := tb.Entries()
	if len(es) != 1 || es[0].MAC.String() != macA.String() || es[0].VTEP != mustAddr("127.0.0.1") || es[0].Static {
		t.Fatalf("b learned %+v, want %s behind 127.0.0.1", es, macA)
	}
	reply := ethFrame(macA, macB, "is at")
	send(t, tb, reply)
	if got := recvFrame(ta, 2*time.Second); !bytes.Equal(got, reply) {
		t.Fatalf("a got % x, want % x", got, reply)
	}
	if st := tb.Stats(); st.TxNoPeer != 0 || st.TxDatagrams != 1 {
		t.Fatalf("b stats %+v: the reply should go to the learned VTEP alone", st)
	}
}

func TestStaticEntryAndReplication(t *testing.T) {
	p := freePort(t)
	a, b, c := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p), listen(t, "127.0.0.3", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 7}, "127.0.0.2", "127.0.0.3")
	tb, tc := tunnel(t, b, TunnelConfig{VNI: 7}), tunnel(t, c, TunnelConfig{VNI: 7})

	flood := ethFrame(bcast, macA, "to all")
	send(t, ta, flood)
	for name, tu := range map[string]*Tunnel{"b": tb, "c": tc} {
		if got := recvFrame(tu, 2*time.Second); !bytes.Equal(got, flood) {
			t.Fatalf("%s got % x, want the flooded frame", name, got)
		}
	}
	if err := ta.SetRemote(macB, mustAddr("127.0.0.3")); err != nil {
		t.Fatal(err)
	}
	uni := ethFrame(macB, macA, "static")
	send(t, ta, uni)
	if got := recvFrame(tc, 2*time.Second); !bytes.Equal(got, uni) {
		t.Fatalf("c got % x, want the unicast frame its static entry points to", got)
	}
	if got := recvFrame(tb, 200*time.Millisecond); got != nil {
		t.Fatalf("b got a frame for a MAC behind c: % x", got)
	}
	ta.RemoveRemote(macB)
	if len(ta.Entries()) != 0 {
		t.Fatalf("entries after RemoveRemote: %+v", ta.Entries())
	}
}

func TestLocalMACsStayLocal(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 9, LocalMACs: []net.HardwareAddr{macGW}}, "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 9, LocalMACs: []net.HardwareAddr{macGW}}, "127.0.0.1")
	send(t, ta, ethFrame(bcast, macGW, "gateway arp"), ethFrame(macGW, macA, "to gateway"))
	if got := recvFrame(tb, 300*time.Millisecond); got != nil {
		t.Fatalf("a gateway frame crossed the tunnel: % x", got)
	}
	if st := ta.Stats(); st.TxDatagrams != 0 {
		t.Fatalf("a sent %d datagrams, want 0", st.TxDatagrams)
	}
}

// TestWireFormat exchanges datagrams with a plain UDP socket: what the
// tunnel sends is RFC 7348 framing, and hand-built datagrams (as the
// kernel's vxlan device sends them) are decapsulated; bad ones are counted.
func TestWireFormat(t *testing.T) {
	p := freePort(t)
	a := listen(t, "127.0.0.1", p)
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: p})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ta := tunnel(t, a, TunnelConfig{VNI: 0x123456}, "127.0.0.2")
	fr := ethFrame(bcast, macA, "wire")
	send(t, ta, fr)
	buf := make([]byte, 2048)
	raw.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := raw.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0}, fr...)
	if !bytes.Equal(buf[:n], want) || from.Addr() != mustAddr("127.0.0.1") {
		t.Fatalf("datagram from %s: % x, want % x", from, buf[:n], want)
	}
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(mustAddr("127.0.0.1"), uint16(p)))
	in := ethFrame(macA, macB, "from kernel")
	for _, d := range [][]byte{
		{0x08, 0, 0, 0}, // short
		append([]byte{0, 0, 0, 0, 0x12, 0x34, 0x56, 0}, in...), // no I flag
		append([]byte{0x08, 0, 0, 0, 0, 0, 5, 0}, in...),       // unknown VNI
		append([]byte{0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0}, in...),
	} {
		if _, err := raw.WriteToUDP(d, to); err != nil {
			t.Fatal(err)
		}
	}
	if got := recvFrame(ta, 2*time.Second); !bytes.Equal(got, in) {
		t.Fatalf("decapsulated % x, want % x", got, in)
	}
	if st := a.Stats(); st.RxBad != 2 || st.RxUnknownVNI != 1 {
		t.Fatalf("socket stats %+v, want 2 bad and 1 unknown VNI", st)
	}
}

func TestTunnelConfigErrors(t *testing.T) {
	s := listen(t, "127.0.0.1", freePort(t))
	tunnel(t, s, TunnelConfig{VNI: 1})
	for _, cfg := range []TunnelConfig{{VNI: 0}, {VNI: MaxVNI + 1}, {VNI: 1}, {VNI: 2, MTU: 20}} {
		if tu, err := s.Tunnel(cfg); err == nil {
			tu.Close()
			t.Errorf("Tunnel(%+v) succeeded", cfg)
		}
	}
	tu := tunnel(t, s, TunnelConfig{VNI: 3})
	if err := tu.SetPeers([]netip.Addr{mustAddr("2001:db8::1")}); err == nil {
		t.Error("IPv6 peer accepted on an IPv4 underlay")
	}
}
