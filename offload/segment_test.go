package offload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Largest TCP payloads that fit a 64 KiB IP packet with a 32-byte TCP
// header (timestamps).
const (
	maxPay4 = 65535 - 20 - 32
	maxPay6 = 65535 - 32
)

func TestSegment(t *testing.T) {
	tests := []struct {
		name string
		spec frameSpec
		mtu  int
		want int // number of segments
		mss  int // expected payload per full segment
	}{
		{"v4 64k", frameSpec{tcpOpts: true, payload: maxPay4, mss: 1448, psh: true}, 1500, 46, 1448},
		{"v6 64k", frameSpec{v6: true, tcpOpts: true, payload: maxPay6, mss: 1428, psh: true}, 1500, 46, 1428},
		{"v4 vlan fin psh cwr ecn", frameSpec{vlan: true, tcpOpts: true, payload: 10000, mss: 1448,
			fin: true, psh: true, cwr: true, ecn: true}, 1500, 7, 1448},
		{"v6 vlan fin", frameSpec{v6: true, vlan: true, tcpOpts: true, payload: 9000, mss: 1428, fin: true}, 1500, 7, 1428},
		{"v4 ip options", frameSpec{ipOpts: true, tcpOpts: true, payload: 5000, mss: 1444, psh: true}, 1500, 4, 1444},
		{"v4 no tcp options", frameSpec{payload: 4380, mss: 1460}, 1500, 3, 1460},
		{"v4 exact multiple", frameSpec{tcpOpts: true, payload: 3 * 1448, mss: 1448, fin: true}, 1500, 3, 1448},
		{"v4 odd sizes", frameSpec{tcpOpts: true, payload: 4001, mss: 1001, psh: true}, 1500, 4, 1001},
		{"v6 odd sizes", frameSpec{v6: true, payload: 777, mss: 111, cwr: true}, 1500, 7, 111},
		{"v4 single segment", frameSpec{tcpOpts: true, payload: 100, mss: 1448, fin: true, psh: true, cwr: true}, 1500, 1, 1448},
		{"v6 exactly one segment", frameSpec{v6: true, tcpOpts: true, payload: 1428, mss: 1428, psh: true}, 1500, 1, 1428},
		{"v4 headers only", frameSpec{tcpOpts: true, payload: 0, mss: 1448, fin: true}, 1500, 1, 1448},
		{"v4 mtu below gso size", frameSpec{tcpOpts: true, payload: 20000, mss: 1448}, 1280, 17, 1280 - 20 - 32},
		{"v6 mtu below gso size vlan", frameSpec{v6: true, vlan: true, tcpOpts: true, payload: 20000, mss: 8948, psh: true},
			1500, 15, 1500 - 40 - 32},
		{"v4 jumbo mtu", frameSpec{tcpOpts: true, payload: maxPay4, mss: 8948}, 9000, 8, 8948},
		{"v4 seq and id wrap", frameSpec{tcpOpts: true, payload: 10000, mss: 1448, seq: 0xffffff00, id: 0xfffe}, 1500, 7, 1448},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, h, _ := buildTCP(t, tt.spec)
			orig := append([]byte(nil), frame...)
			hOrig := h
			if got := SegmentCount(&h, frame, tt.mtu); got != tt.want {
				t.Fatalf("SegmentCount = %d, want %d", got, tt.want)
			}
			out := makeBufs(tt.want, tt.mtu+18)
			sizes := make([]int, tt.want)
			n, err := Segment(&h, frame, tt.mtu, out, sizes)
			if err != nil {
				t.Fatalf("Segment: %v", err)
			}
			if n != tt.want {
				t.Fatalf("Segment = %d segments, want %d", n, tt.want)
			}
			if !bytes.Equal(frame, orig) || h != hOrig {
				t.Fatal("Segment modified its input")
			}
			segs := make([][]byte, n)
			for i := range segs {
				segs[i] = out[i][:sizes[i]]
			}
			_, _, pay, _, _ := refLayout(frame)
			for i, s := range segs[:n-1] {
				if got := len(s) - pay; got != tt.mss {
					t.Errorf("segment %d: payload %d, want %d", i, got, tt.mss)
				}
			}
			checkSegments(t, frame, segs, tt.mtu)
			checkWithGopacket(t, frame, segs, tt.spec)
		})
	}
}

// checkWithGopacket decodes every segment with gopacket and verifies its
// checksums (TCP: gopacket's ComputeChecksum over the received bytes must
// be 0; IPv4: re-serializing the header with gopacket must reproduce it),
// sequence numbers, flags and payload.
func checkWithGopacket(t *testing.T, frame []byte, segs [][]byte, s frameSpec) {
	t.Helper()
	var payload []byte
	seq := s.seq
	for i, seg := range segs {
		p := gopacket.NewPacket(seg, layers.LayerTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("segment %d: gopacket: %v", i, el.Error())
		}
		if s.vlan != (p.Layer(layers.LayerTypeDot1Q) != nil) {
			t.Errorf("segment %d: VLAN tag present = %v, want %v", i, !s.vlan, s.vlan)
		}
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("segment %d: no TCP layer", i)
		}
		if s.v6 {
			ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if ip == nil {
				t.Fatalf("segment %d: no IPv6 layer", i)
			}
			if int(ip.Length) != len(tcp.Contents)+len(tcp.Payload) {
				t.Errorf("segment %d: IPv6 length %d", i, ip.Length)
			}
			tcp.SetNetworkLayerForChecksum(ip)
		} else {
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip == nil {
				t.Fatalf("segment %d: no IPv4 layer", i)
			}
			if ip.Id != s.id+uint16(i) || ip.Flags != layers.IPv4DontFragment || ip.TTL != 64 {
				t.Errorf("segment %d: IPv4 id %d flags %v ttl %d", i, ip.Id, ip.Flags, ip.TTL)
			}
			if s.ipOpts && len(ip.Options) == 0 {
				t.Errorf("segment %d: IPv4 options lost", i)
			}
			re := *ip
			buf := gopacket.NewSerializeBuffer()
			if err := re.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), ip.Contents) {
				t.Errorf("segment %d: IPv4 header checksum %#04x, gopacket computes %#04x",
					i, ip.Checksum, binary.BigEndian.Uint16(buf.Bytes()[10:]))
			}
			tcp.SetNetworkLayerForChecksum(ip)
		}
		if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
			t.Errorf("segment %d: TCP checksum %#04x does not verify (%#04x, %v)", i, tcp.Checksum, c, err)
		}
		if tcp.Seq != seq {
			t.Errorf("segment %d: seq %d, want %d", i, tcp.Seq, seq)
		}
		last := i == len(segs)-1
		if tcp.FIN != (s.fin && last) || tcp.PSH != (s.psh && last) || tcp.CWR != (s.cwr && i == 0) ||
			tcp.ECE != s.ecn || !tcp.ACK || tcp.SYN || tcp.RST {
			t.Errorf("segment %d: flags FIN %v PSH %v CWR %v ECE %v ACK %v", i, tcp.FIN, tcp.PSH, tcp.CWR, tcp.ECE, tcp.ACK)
		}
		if s.tcpOpts && len(tcp.Options) != 3 {
			t.Errorf("segment %d: TCP options %v", i, tcp.Options)
		}
		seq += uint32(len(tcp.Payload))
		payload = append(payload, tcp.Payload...)
	}
	if want := testPayload(s.payload, int64(s.payload)); !bytes.Equal(payload, want) {
		t.Errorf("payload of %d bytes differs from the original %d bytes", len(payload), len(want))
	}
}

func TestSegmentIgnoresHdrLen(t *testing.T) {
	frame, h, _ := buildTCP(t, frameSpec{vlan: true, tcpOpts: true, payload: 3000, mss: 1448})
	h.HdrLen, h.CsumStart, h.CsumOffset = 0xffff, 3, 0xfff0
	out, sizes := makeBufs(3, 1518), make([]int, 3)
	n, err := Segment(&h, frame, 1500, out, sizes)
	if err != nil || n != 3 {
		t.Fatalf("Segment = %d, %v", n, err)
	}
	segs := [][]byte{out[0][:sizes[0]], out[1][:sizes[1]], out[2][:sizes[2]]}
	checkSegments(t, frame, segs, 1500)
}

func TestSegmentPadding(t *testing.T) {
	// Bytes after the IP packet (Ethernet padding: gopacket already pads
	// this frame to 60 bytes) are not payload.
	frame, h, _ := buildTCP(t, frameSpec{payload: 2, mss: 1448})
	padded := append(append([]byte(nil), frame...), 0, 0, 0, 0)
	_, _, _, end, _ := refLayout(frame)
	out, sizes := makeBufs(1, 1518), make([]int, 1)
	n, err := Segment(&h, padded, 1500, out, sizes)
	if err != nil || n != 1 || sizes[0] != end {
		t.Fatalf("Segment = %d, %v, size %d; want 1 segment of %d bytes", n, err, sizes[0], end)
	}
	checkSegments(t, frame, [][]byte{out[0][:sizes[0]]}, 1500)
}

func TestSegmentErrors(t *testing.T) {
	v4, h4, l4off := buildTCP(t, frameSpec{tcpOpts: true, payload: 3000, mss: 1000})
	v6, h6, _ := buildTCP(t, frameSpec{v6: true, payload: 3000, mss: 1000})
	with := func(b []byte, f func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		return b
	}
	hdr := func(h Hdr, f func(h *Hdr)) Hdr { f(&h); return h }
	udp4 := with(v4, func(b []byte) { b[14+9] = 17 })
	hop6 := with(v6, func(b []byte) { b[14+6] = 0 })
	arp := with(v4, func(b []byte) { b[12], b[13] = 0x08, 0x06 })
	tests := []struct {
		name  string
		h     Hdr
		frame []byte
		mtu   int
		nbuf  int
		size  int
		want  error
	}{
		{"gso udp", hdr(h4, func(h *Hdr) { h.GSOType = GSOUDP }), v4, 1500, 4, 1518, ErrUnsupported},
		{"gso none", hdr(h4, func(h *Hdr) { h.GSOType = GSONone }), v4, 1500, 4, 1518, ErrUnsupported},
		{"gso unknown", hdr(h4, func(h *Hdr) { h.GSOType = 5 }), v4, 1500, 4, 1518, ErrUnsupported},
		{"gso ecn only", hdr(h4, func(h *Hdr) { h.GSOType = GSOECN }), v4, 1500, 4, 1518, ErrUnsupported},
		{"gso size 0", hdr(h4, func(h *Hdr) { h.GSOSize = 0 }), v4, 1500, 4, 1518, ErrMalformed},
		{"v4 frame gso v6", h6, v4, 1500, 4, 1518, ErrMalformed},
		{"v6 frame gso v4", h4, v6, 1500, 4, 1518, ErrMalformed},
		{"udp in ipv4", h4, udp4, 1500, 4, 1518, ErrUnsupported},
		{"ipv6 hop-by-hop", h6, hop6, 1500, 4, 1518, ErrUnsupported},
		{"arp", h4, arp, 1500, 4, 1518, ErrUnsupported},
		{"empty", h4, nil, 1500, 4, 1518, ErrMalformed},
		{"vlan truncated", h4, []byte{0: 0, 12: 0x81, 13: 0, 15: 0}, 1500, 4, 1518, ErrMalformed},
		{"truncated ip", h4, v4[:30], 1500, 4, 1518, ErrMalformed},
		{"truncated packet", h4, v4[:len(v4)-1], 1500, 4, 1518, ErrMalformed},
		{"truncated v6", h6, v6[:len(v6)-1], 1500, 4, 1518, ErrMalformed},
		{"ipv4 ihl 4", h4, with(v4, func(b []byte) { b[14] = 0x44 }), 1500, 4, 1518, ErrMalformed},
		{"ipv4 version 6", h4, with(v4, func(b []byte) { b[14] = 0x65 }), 1500, 4, 1518, ErrMalformed},
		{"ipv4 fragment", h4, with(v4, func(b []byte) { b[14+6] |= 0x20 }), 1500, 4, 1518, ErrMalformed},
		{"ipv4 total < ihl", h4, with(v4, func(b []byte) { b[16], b[17] = 0, 19 }), 1500, 4, 1518, ErrMalformed},
		{"tcp header cut", h4, with(v4, func(b []byte) { b[16], b[17] = 0, 39 }), 1500, 4, 1518, ErrMalformed},
		{"tcp doff 4", h4, with(v4, func(b []byte) { b[l4off+12] = 0x40 }), 1500, 4, 1518, ErrMalformed},
		{"tcp doff beyond", h4, with(v4, func(b []byte) { b[16], b[17] = 0, 40; b[l4off+12] = 0x60 }), 1500, 4, 1518, ErrMalformed},
		{"mtu too small", h4, v4, 52, 4, 1518, ErrMalformed},
		{"mtu zero", h4, v4, 0, 4, 1518, ErrMalformed},
		{"too few buffers", h4, v4, 1500, 2, 1518, ErrShortBuffer},
		{"buffer too short", h4, v4, 1500, 4, 1000, ErrShortBuffer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := makeBufs(tt.nbuf, tt.size)
			for _, b := range out {
				for i := range b {
					b[i] = 0xa5
				}
			}
			n, err := Segment(&tt.h, tt.frame, tt.mtu, out, make([]int, tt.nbuf))
			if !errors.Is(err, tt.want) || n != 0 {
				t.Fatalf("Segment = %d, %v; want 0, %v", n, err, tt.want)
			}
			t.Log(err)
			for i, b := range out {
				if bytes.Count(b, []byte{0xa5}) != len(b) {
					t.Errorf("buffer %d written despite the error", i)
				}
			}
			if tt.want != ErrShortBuffer && SegmentCount(&tt.h, tt.frame, tt.mtu) != 0 {
				t.Errorf("SegmentCount != 0 for a rejected frame")
			}
		})
	}
	// Buffers must fit their segment exactly, the last one included.
	out := makeBufs(3, 1000+l4off+32)
	out[2] = out[2][:1000+l4off+32-1]
	if _, err := Segment(&h4, v4, 1500, out, make([]int, 3)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("last buffer one byte short: %v", err)
	}
	out = makeBufs(3, 1000+l4off+32)
	if n, err := Segment(&h4, v4, 1500, out, make([]int, 3)); err != nil || n != 3 {
		t.Errorf("exactly sized buffers: %d, %v", n, err)
	}
}

func TestSegmentAllocs(t *testing.T) {
	for _, spec := range []frameSpec{
		{tcpOpts: true, payload: maxPay4, mss: 1448},
		{v6: true, vlan: true, tcpOpts: true, payload: maxPay6, mss: 1428},
	} {
		frame, h, _ := buildTCP(t, spec)
		out, sizes := makeBufs(64, 1518), make([]int, 64)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Segment(&h, frame, 1500, out, sizes); err != nil {
				t.Fatal(err)
			}
			if SegmentCount(&h, frame, 1500) == 0 {
				t.Fatal("SegmentCount = 0")
			}
		})
		if allocs != 0 {
			t.Errorf("v6=%v: %v allocations per Segment call, want 0", spec.v6, allocs)
		}
	}
}

func BenchmarkSegment(b *testing.B) {
	frame, h, _ := buildTCP(b, frameSpec{tcpOpts: true, payload: maxPay4, mss: 1448})
	out, sizes := makeBufs(64, 1518), make([]int, 64)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Segment(&h, frame, 1500, out, sizes); err != nil {
			b.Fatal(err)
		}
	}
}
