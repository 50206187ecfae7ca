package offload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// buildL4 serializes a TCP or UDP frame with correct checksums computed by
// gopacket, and returns it with the L4 offset and checksum field offset.
func buildL4(t testing.TB, v6, vlan, udp bool, payload []byte) (frame []byte, l4, csumOff int) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ls := []gopacket.SerializableLayer{eth}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	l4 = 14
	if vlan {
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 7, Type: eth.EthernetType})
		eth.EthernetType = layers.EthernetTypeDot1Q
		l4 += 4
	}
	proto := layers.IPProtocolTCP
	if udp {
		proto = layers.IPProtocolUDP
	}
	var nl gopacket.NetworkLayer
	if v6 {
		ip := &layers.IPv6{Version: 6, NextHeader: proto, HopLimit: 64, SrcIP: src6, DstIP: dst6}
		nl, ls, l4 = ip, append(ls, ip), l4+40
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src4, DstIP: dst4}
		nl, ls, l4 = ip, append(ls, ip), l4+20
	}
	if udp {
		u := &layers.UDP{SrcPort: 5353, DstPort: 53}
		u.SetNetworkLayerForChecksum(nl)
		ls, csumOff = append(ls, u), 6
	} else {
		tcp := &layers.TCP{SrcPort: 1234, DstPort: 80, Seq: 99, ACK: true, PSH: true, Window: 100}
		tcp.SetNetworkLayerForChecksum(nl)
		ls, csumOff = append(ls, tcp), 16
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...), l4, csumOff
}

// partial replaces the L4 checksum of frame by the folded pseudo-header
// sum, as the kernel leaves it for CHECKSUM_PARTIAL, and returns the
// matching virtio-net header.
func partial(frame []byte, l4, csumOff int, v6, udp bool) Hdr {
	proto := uint8(6)
	if udp {
		proto = 17
	}
	var src, dst net.IP = src4, dst4
	if v6 {
		src, dst = src6, dst6
	}
	// The L4 length: up to the end of the IP packet, not the padding.
	n := len(frame) - l4
	if v6 {
		n = int(binary.BigEndian.Uint16(frame[l4-40+4:]))
	} else {
		n = int(binary.BigEndian.Uint16(frame[l4-20+2:])) - 20
	}
	binary.BigEndian.PutUint16(frame[l4+csumOff:], refPseudo(src, dst, proto, n))
	return Hdr{Flags: FlagNeedsCsum | FlagDataValid, CsumStart: uint16(l4), CsumOffset: uint16(csumOff)}
}

func TestChecksum(t *testing.T) {
	for _, tt := range []struct {
		name          string
		v6, vlan, udp bool
		payload       int
	}{
		{"tcp4", false, false, false, 1000},
		{"tcp4 odd", false, false, false, 1001},
		{"tcp4 vlan", false, true, false, 1460},
		{"tcp4 64k", false, false, false, maxPay4 + 12},
		{"tcp6", true, false, false, 1000},
		{"tcp6 vlan odd", true, true, false, 77},
		{"udp4", false, false, true, 512},
		{"udp4 odd vlan", false, true, true, 3},
		{"udp6", true, false, true, 1200},
		{"udp6 odd", true, false, true, 1201},
		{"udp6 empty", true, false, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Small frames are padded by gopacket: padding is not part of the
			// L4 packet, so Checksum must be given the frame up to the IP end.
			want, l4, off := buildL4(t, tt.v6, tt.vlan, tt.udp, testPayload(tt.payload, 3))
			frame := append([]byte(nil), want...)
			h := partial(frame, l4, off, tt.v6, tt.udp)
			end := l4 + int(binary.BigEndian.Uint16(frame[l4-20+2:])) - 20
			if tt.v6 {
				end = l4 + int(binary.BigEndian.Uint16(frame[l4-40+4:]))
			}
			if err := Checksum(&h, frame[:end]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(frame, want) {
				t.Errorf("checksum %#04x, gopacket computes %#04x",
					binary.BigEndian.Uint16(frame[l4+off:]), binary.BigEndian.Uint16(want[l4+off:]))
			}
			if h.Flags != FlagDataValid {
				t.Errorf("flags %#x after Checksum, want %#x", h.Flags, FlagDataValid)
			}
			if err := Checksum(&h, frame[:end]); err != nil || !bytes.Equal(frame, want) {
				t.Errorf("second Checksum call changed the frame (%v)", err)
			}
		})
	}
}

func TestChecksumUDPZero(t *testing.T) {
	// Choose the last payload word so that the UDP checksum comes out as
	// zero, which UDP must transmit as 0xffff.
	for _, v6 := range []bool{false, true} {
		payload := make([]byte, 100)
		frame, l4, off := buildL4(t, v6, false, true, payload)
		c := binary.BigEndian.Uint16(frame[l4+off:])
		binary.BigEndian.PutUint16(payload[98:], c)
		frame, l4, off = buildL4(t, v6, false, true, payload)
		h := partial(frame, l4, off, v6, true)
		if err := Checksum(&h, frame); err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint16(frame[l4+off:]); got != 0xffff {
			t.Errorf("v6=%v: UDP checksum %#04x, want 0xffff", v6, got)
		}
		p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
		u := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		// Recompute over the received bytes: 0xffff must verify (sum 0).
		var pseudo uint16
		if v6 {
			pseudo = refPseudo(src6, dst6, 17, len(u.Contents)+len(u.Payload))
		} else {
			pseudo = refPseudo(src4, dst4, 17, len(u.Contents)+len(u.Payload))
		}
		if s := refSum(append(u.Contents, u.Payload...), uint32(pseudo)); s != 0xffff {
			t.Errorf("v6=%v: checksum 0xffff does not verify (sum %#04x)", v6, s)
		}
	}
}

func TestChecksumErrors(t *testing.T) {
	frame := make([]byte, 60)
	for _, tt := range []struct {
		name       string
		start, off uint16
		n          int
	}{
		{"field past end", 40, 19, 60},
		{"start past end", 61, 0, 60},
		{"max offsets", 0xffff, 0xffff, 60},
		{"empty frame", 0, 0, 0},
		{"one byte", 0, 0, 1},
	} {
		h := Hdr{Flags: FlagNeedsCsum, CsumStart: tt.start, CsumOffset: tt.off}
		if err := Checksum(&h, frame[:tt.n]); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", tt.name, err)
		} else {
			t.Log(err)
		}
		if h.Flags != FlagNeedsCsum {
			t.Errorf("%s: flag cleared on error", tt.name)
		}
	}
	for _, b := range frame {
		if b != 0 {
			t.Fatal("frame written on error")
		}
	}
	// Without FlagNeedsCsum nothing is checked or written.
	h := Hdr{CsumStart: 0xffff}
	if err := Checksum(&h, frame); err != nil {
		t.Errorf("no flag: %v", err)
	}
	// The field may end exactly at the end of the frame.
	h = Hdr{Flags: FlagNeedsCsum, CsumStart: 50, CsumOffset: 8}
	if err := Checksum(&h, frame); err != nil {
		t.Errorf("field at the end: %v", err)
	}
}

func TestSum(t *testing.T) {
	// Compare the word-at-a-time sum with the reference at every length
	// and start offset, including all-ones data that maximises carries.
	data := testPayload(300, 9)
	ones := bytes.Repeat([]byte{0xff}, 300)
	for _, d := range [][]byte{data, ones} {
		for start := 0; start < 9; start++ {
			for n := start; n <= len(d); n++ {
				if got, want := fold(sum(d[start:n], 0)), refSum(d[start:n], 0); got != want {
					t.Fatalf("sum of [%d:%d] = %#04x, want %#04x", start, n, got, want)
				}
			}
		}
	}
	if got := fold(sum(ones[:64], ^uint64(0))); got != 0xffff {
		t.Errorf("sum with a saturated accumulator = %#04x, want 0xffff", got)
	}
}

func TestChecksumAllocs(t *testing.T) {
	frame, l4, off := buildL4(t, false, false, false, testPayload(1400, 1))
	h := partial(frame, l4, off, false, false)
	allocs := testing.AllocsPerRun(100, func() {
		hh := h
		if err := Checksum(&hh, frame); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Checksum call, want 0", allocs)
	}
}

func BenchmarkChecksum(b *testing.B) {
	frame, l4, off := buildL4(b, false, false, false, testPayload(maxPay4+12, 1))
	h := partial(frame, l4, off, false, false)
	b.SetBytes(int64(len(frame) - l4))
	b.ReportAllocs()
	for b.Loop() {
		hh := h
		if err := Checksum(&hh, frame); err != nil {
			b.Fatal(err)
		}
	}
}
