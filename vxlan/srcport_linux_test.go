package vxlan

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"
)

// udpFrame is an IPv4/UDP frame from macA to macB with the given source
// port.
func udpFrame(sport uint16) []byte {
	b := ethFrame(macB, macA, "")
	ip := make([]byte, 28)
	ip[0], ip[9] = 0x45, 17
	binary.BigEndian.PutUint16(ip[2:], 28)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[20:], sport)
	binary.BigEndian.PutUint16(ip[22:], 53)
	return append(b, ip...)
}

// TestSourcePortHashedFromInnerFlow sends two frames of each of 32 inner
// flows: each flow leaves from one source port of the socket's set, never
// the VXLAN port, and the flows spread over several ports.
func TestSourcePortHashedFromInnerFlow(t *testing.T) {
	p := freePort(t)
	a := listen(t, "127.0.0.1", p)
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: p})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	ta := tunnel(t, a, TunnelConfig{VNI: 5}, "127.0.0.2")
	srcs := a.SourcePorts()
	if len(srcs) != 8 || slices.Contains(srcs, p) {
		t.Fatalf("source ports %v: want 8, not the VXLAN port %d", srcs, p)
	}
	byFlow := map[uint16]int{}
	used := map[int]bool{}
	buf := make([]byte, 2048)
	for round := range 2 {
		for flow := range uint16(32) {
			send(t, ta, udpFrame(40000+flow))
			peer.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, from, err := peer.ReadFromUDP(buf)
			if err != nil {
				t.Fatal(err)
			}
			if got := binary.BigEndian.Uint16(buf[HeaderLen+14+20:]); n < HeaderLen+42 || got != 40000+flow {
				t.Fatalf("datagram of %d bytes for inner port %d", n, got)
			}
			if !slices.Contains(srcs, from.Port) {
				t.Fatalf("sent from port %d, not one of %v", from.Port, srcs)
			}
			if round == 1 && byFlow[flow] != from.Port {
				t.Fatalf("flow %d left from port %d, then %d", flow, byFlow[flow], from.Port)
			}
			byFlow[flow] = from.Port
			used[from.Port] = true
		}
	}
	if len(used) < 3 {
		t.Fatalf("32 flows used %d source ports, want them spread", len(used))
	}
}
