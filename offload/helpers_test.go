package offload

import (
	"encoding/binary"
	"math/rand"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// refSum is a plain RFC 1071 reference: the folded (not complemented)
// ones'-complement sum of b as big-endian 16-bit words, plus init.
func refSum(b []byte, init uint32) uint16 {
	s := init
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
		s = (s & 0xffff) + (s >> 16)
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = (s & 0xffff) + (s >> 16)
	}
	return uint16(s)
}

// refPseudo returns the folded pseudo-header sum for an L4 packet of
// length n with protocol proto between the addresses in src and dst: IPv4
// if they are 4 bytes long, IPv6 (even v4-mapped) if 16.
func refPseudo(src, dst net.IP, proto uint8, n int) uint16 {
	var s uint32
	if len(src) == 4 {
		s = uint32(refSum(src, 0)) + uint32(refSum(dst, 0))
		s += uint32(proto) + uint32(n)
	} else {
		s = uint32(refSum(src, 0)) + uint32(refSum(dst, 0))
		s += uint32(proto) + uint32(n>>16) + uint32(n&0xffff)
	}
	return refSum(nil, s)
}

// frameSpec describes a TCP super-frame for the tests.
type frameSpec struct {
	v6       bool
	vlan     bool
	tcpOpts  bool // MSS-free "established" options: NOP NOP timestamps
	ipOpts   bool // IPv4 router alert option
	payload  int
	mss      int
	seq      uint32
	id       uint16
	fin, psh bool
	cwr, ecn bool
}

var (
	srcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	src4   = net.IP{10, 0, 0, 1}
	dst4   = net.IP{192, 168, 200, 254}
	src6   = net.ParseIP("fd00::1")
	dst6   = net.ParseIP("fd00:ffff:ffff::fffe")
)

// testPayload returns n deterministic pseudo-random bytes.
func testPayload(n int, seed int64) []byte {
	p := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(p)
	return p
}

// buildTCP serializes a super-frame as a TAP with TSO hands it over: full
// headers, the TCP checksum field holding the folded pseudo-header sum,
// and a virtio-net header asking for segmentation and checksum completion.
// It returns the frame, the header and the TCP header offset.
func buildTCP(t testing.TB, s frameSpec) ([]byte, Hdr, int) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC}
	ls := []gopacket.SerializableLayer{eth}
	etype := layers.EthernetTypeIPv4
	if s.v6 {
		etype = layers.EthernetTypeIPv6
	}
	if s.vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 42, Priority: 3, Type: etype})
	} else {
		eth.EthernetType = etype
	}
	tcp := &layers.TCP{
		SrcPort: 40000, DstPort: 443, Seq: s.seq, Ack: 0x01020304, ACK: true,
		FIN: s.fin, PSH: s.psh, CWR: s.cwr, ECE: s.ecn, Window: 501,
	}
	if s.tcpOpts {
		tcp.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10,
				OptionData: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		}
	}
	var nl gopacket.NetworkLayer
	if s.v6 {
		ip := &layers.IPv6{Version: 6, TrafficClass: 0x02, FlowLabel: 0x12345,
			NextHeader: layers.IPProtocolTCP, HopLimit: 64, SrcIP: src6, DstIP: dst6}
		nl = ip
		ls = append(ls, ip)
	} else {
		ip := &layers.IPv4{Version: 4, TOS: 0x02, Id: s.id, Flags: layers.IPv4DontFragment,
			TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src4, DstIP: dst4}
		if s.ipOpts {
			ip.Options = []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}}
		}
		nl = ip
		ls = append(ls, ip)
	}
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	ls = append(ls, tcp, gopacket.Payload(testPayload(s.payload, int64(s.payload))))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	frame := append([]byte(nil), buf.Bytes()...)

	l4 := 14
	if s.vlan {
		l4 += 4
	}
	if s.v6 {
		l4 += 40
	} else {
		l4 += int(frame[l4]&0x0f) * 4
	}
	tcpLen := len(frame) - l4
	var src, dst net.IP = src4, dst4
	if s.v6 {
		src, dst = src6, dst6
	}
	binary.BigEndian.PutUint16(frame[l4+16:], refPseudo(src, dst, 6, tcpLen))
	h := Hdr{
		Flags: FlagNeedsCsum, GSOType: GSOTCPv4,
		HdrLen:  uint16(l4 + int(frame[l4+12]>>4)*4),
		GSOSize: uint16(s.mss), CsumStart: uint16(l4), CsumOffset: 16,
	}
	if s.v6 {
		h.GSOType = GSOTCPv6
	}
	if s.ecn {
		h.GSOType |= GSOECN
	}
	return frame, h, l4
}

// refLayout finds the IP and TCP headers of a frame Segment accepted,
// independently of parse: returns IP offset, TCP offset, payload offset
// and IP packet end.
func refLayout(f []byte) (l3, l4, pay, end int, v6 bool) {
	l3 = 14
	et := binary.BigEndian.Uint16(f[12:])
	if et == 0x8100 {
		l3, et = 18, binary.BigEndian.Uint16(f[16:])
	}
	if et == 0x86dd {
		v6 = true
		l4 = l3 + 40
		end = l4 + int(binary.BigEndian.Uint16(f[l3+4:]))
	} else {
		l4 = l3 + int(f[l3]&0x0f)*4
		end = l3 + int(binary.BigEndian.Uint16(f[l3+2:]))
	}
	pay = l4 + int(f[l4+12]>>4)*4
	return
}

// checkSegments verifies, without gopacket and without the package's
// checksum code, that segs are a correct segmentation of the super-frame
// orig: headers copied, lengths, IDs, sequence numbers, flags, checksums
// and payload.
func checkSegments(t testing.TB, orig []byte, segs [][]byte, mtu int) {
	t.Helper()
	l3, l4, pay, end, v6 := refLayout(orig)
	origPay := orig[pay:end]
	seq := binary.BigEndian.Uint32(orig[l4+4:])
	id := binary.BigEndian.Uint16(orig[l3+4:])
	flags := orig[l4+13]
	var all []byte
	for i, s := range segs {
		if len(s) < pay || len(s)-l3 > mtu {
			t.Fatalf("segment %d: length %d (headers %d, mtu %d)", i, len(s), pay, mtu)
		}
		if i < len(segs)-1 && i > 0 && len(s) != len(segs[0]) {
			t.Errorf("segment %d: length %d, first segment %d", i, len(s), len(segs[0]))
		}
		// Everything but the fields that change must be copied.
		if string(s[:l3]) != string(orig[:l3]) {
			t.Errorf("segment %d: L2 header changed", i)
		}
		ip, tcp := s[l3:l4], s[l4:]
		if v6 {
			if string(ip[:4]) != string(orig[l3:l3+4]) || string(ip[6:]) != string(orig[l3+6:l4]) {
				t.Errorf("segment %d: IPv6 header changed", i)
			}
			if n := int(binary.BigEndian.Uint16(ip[4:])); n != len(tcp) {
				t.Errorf("segment %d: IPv6 payload length %d, want %d", i, n, len(tcp))
			}
			if c := refSum(tcp, uint32(refPseudo(ip[8:24], ip[24:40], 6, len(tcp)))); c != 0xffff {
				t.Errorf("segment %d: bad TCP checksum (sum %#04x)", i, c)
			}
		} else {
			if n := int(binary.BigEndian.Uint16(ip[2:])); n != len(s)-l3 {
				t.Errorf("segment %d: IPv4 total length %d, want %d", i, n, len(s)-l3)
			}
			if got := binary.BigEndian.Uint16(ip[4:]); got != id+uint16(i) {
				t.Errorf("segment %d: IPv4 ID %d, want %d", i, got, id+uint16(i))
			}
			if string(ip[6:10]) != string(orig[l3+6:l3+10]) || string(ip[12:]) != string(orig[l3+12:l4]) {
				t.Errorf("segment %d: IPv4 header changed", i)
			}
			if c := refSum(ip, 0); c != 0xffff {
				t.Errorf("segment %d: bad IPv4 header checksum (sum %#04x)", i, c)
			}
			if c := refSum(tcp, uint32(refPseudo(ip[12:16], ip[16:20], 6, len(tcp)))); c != 0xffff {
				t.Errorf("segment %d: bad TCP checksum (sum %#04x)", i, c)
			}
		}
		if string(tcp[:4]) != string(orig[l4:l4+4]) || string(tcp[8:13]) != string(orig[l4+8:l4+13]) ||
			string(tcp[14:16]) != string(orig[l4+14:l4+16]) || string(tcp[18:pay-l4]) != string(orig[l4+18:pay]) {
			t.Errorf("segment %d: TCP header changed", i)
		}
		if got, want := binary.BigEndian.Uint32(tcp[4:]), seq+uint32(len(all)); got != want {
			t.Errorf("segment %d: seq %d, want %d", i, got, want)
		}
		want := flags
		if i != len(segs)-1 {
			want &^= tcpFIN | tcpPSH
		}
		if i != 0 {
			want &^= tcpCWR
		}
		if tcp[13] != want {
			t.Errorf("segment %d: TCP flags %#02x, want %#02x", i, tcp[13], want)
		}
		all = append(all, s[pay:]...)
	}
	if string(all) != string(origPay) {
		t.Errorf("concatenated payload: %d bytes, differs from the original %d bytes", len(all), len(origPay))
	}
}

// makeBufs returns n output buffers of size bytes each.
func makeBufs(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
	}
	return out
}
