package vxlan

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// superFrame builds a TCP/IPv4 super-frame from macA to macB as a TAP with
// TSO hands it over: complete IP header, the TCP checksum field holding the
// pseudo-header sum, and a header asking for segments of mss bytes.
func superFrame(payload, mss int) (*port.Frame, offload.Hdr) {
	f := port.Get(port.MaxSuperFrame)
	b := f.Space()[:54+payload]
	copy(b, ethFrame(macB, macA, ""))
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+payload))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^csum(ip, 0))
	tcp := b[34:54]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 5201)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	binary.BigEndian.PutUint32(tcp[8:], 2000)
	tcp[12], tcp[13] = 5<<4, 0x18 // ACK|PSH
	binary.BigEndian.PutUint16(tcp[14:], 501)
	for i := range payload {
		b[54+i] = byte(i * 7)
	}
	binary.BigEndian.PutUint16(tcp[16:], csum(ip[12:20], uint32(6+20+payload)))
	f.Len = len(b)
	h := offload.Hdr{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54, GSOSize: uint16(mss),
		CsumStart: 34, CsumOffset: 16}
	f.VNet = h
	return f, h
}

// csum is the folded ones'-complement sum of b plus init.
func csum(b []byte, init uint32) uint16 {
	s := init
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// segments cuts a super-frame into the frames its header asks for.
func segments(t *testing.T, h offload.Hdr, b []byte, mtu int) [][]byte {
	t.Helper()
	n := offload.SegmentCount(&h, b, mtu)
	out, sizes := make([][]byte, n), make([]int, n)
	for i := range out {
		out[i] = make([]byte, mtu+18)
	}
	if _, err := offload.Segment(&h, b, mtu, out, sizes); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		out[i] = out[i][:sizes[i]]
	}
	return out
}

// TestSuperFrameAcrossTunnel sends a TCP super-frame through a tunnel: it
// leaves as UDP GSO sends of complete VXLAN datagrams (one per segment,
// counted), and the receiving tunnel hands the switch one super-frame
// that segments into exactly the same frames.
func TestSuperFrameAcrossTunnel(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 9}, "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 9})
	f, h := superFrame(60000, 1398)
	orig := append([]byte(nil), f.Data()...)
	want := segments(t, h, orig, 1450)
	if _, err := ta.WriteFrames([]*port.Frame{f}); err != nil {
		t.Fatal(err)
	}
	port.Put(f)
	if st := ta.Stats(); st.TxFrames != 1 || st.TxDatagrams != uint64(len(want)) || st.TxErrors != 0 {
		t.Fatalf("sender stats %+v, want 1 frame in %d datagrams", st, len(want))
	}
	var got [][]byte
	deadline := time.Now().Add(3 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		g := port.Get(port.MaxSuperFrame)
		if n, err := tb.ReadFrames([]*port.Frame{g}); err != nil || n != 1 {
			t.Fatalf("ReadFrames = %d, %v", n, err)
		}
		if g.VNet.IsGSO() {
			got = append(got, segments(t, g.VNet, g.Data(), 1450)...)
		} else {
			got = append(got, append([]byte(nil), g.Data()...))
		}
		port.Put(g)
	}
	if len(got) != len(want) {
		t.Fatalf("received %d segments, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("segment %d differs after the tunnel", i)
		}
	}
	if st := tb.Stats(); st.RxFrames >= uint64(len(want)) {
		t.Errorf("receiver stats %+v: segments were not coalesced", st)
	}
}
