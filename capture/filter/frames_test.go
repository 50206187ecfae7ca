package filter

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// frameSpec describes a test frame; build serializes it with gopacket.
type frameSpec struct {
	srcMAC, dstMAC string   // defaults 02:00:00:00:00:01 / 02:00:00:00:00:02
	vlans          []uint16 // VLAN IDs, outermost first
	outerTPID      uint16   // TPID of the outermost tag (default 0x8100)
	kind           string   // "ip4", "ip6", "arp", "rarp" or "raw"
	src, dst       string   // IP addresses (ARP: sender/target protocol address)
	proto          uint8    // transport protocol number
	sport, dport   uint16
	ipOpts         bool   // IPv4 header with a 4-byte option (IHL 6)
	frag           int    // 0: not fragmented, 1: first fragment (MF), 2: later fragment
	etherType      uint16 // for kind "raw"
	truncate       int    // cut the frame to this many bytes if > 0
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// build serializes the frame described by s.
func build(tb testing.TB, s frameSpec) []byte {
	tb.Helper()
	src, dst := "02:00:00:00:00:01", "02:00:00:00:00:02"
	if s.srcMAC != "" {
		src = s.srcMAC
	}
	if s.dstMAC != "" {
		dst = s.dstMAC
	}
	var l3 layers.EthernetType
	var upper []gopacket.SerializableLayer
	switch s.kind {
	case "ip4":
		l3 = layers.EthernetTypeIPv4
		upper = ip4Layers(s)
	case "ip6":
		l3 = layers.EthernetTypeIPv6
		upper = ip6Layers(s)
	case "arp", "rarp":
		l3 = layers.EthernetTypeARP
		if s.kind == "rarp" {
			l3 = 0x8035
		}
		upper = []gopacket.SerializableLayer{&layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: mustMAC(src), SourceProtAddress: net.ParseIP(s.src).To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(s.dst).To4(),
		}}
	default:
		l3 = layers.EthernetType(s.etherType)
		upper = []gopacket.SerializableLayer{gopacket.Payload(make([]byte, 46))}
	}
	ls := []gopacket.SerializableLayer{}
	eth := &layers.Ethernet{SrcMAC: mustMAC(src), DstMAC: mustMAC(dst), EthernetType: l3}
	ls = append(ls, eth)
	if len(s.vlans) > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		if s.outerTPID != 0 {
			eth.EthernetType = layers.EthernetType(s.outerTPID)
		}
		for i, id := range s.vlans {
			next := l3
			if i < len(s.vlans)-1 {
				next = layers.EthernetTypeDot1Q
			}
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: id, Type: next})
		}
	}
	ls = append(ls, upper...)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		tb.Fatalf("serializing %+v: %v", s, err)
	}
	b := buf.Bytes()
	if s.truncate > 0 && s.truncate < len(b) {
		b = b[:s.truncate]
	}
	return append([]byte(nil), b...)
}

// transport returns the transport layer for proto, or nil.
func transport(s frameSpec) gopacket.SerializableLayer {
	switch s.proto {
	case 6:
		return &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport), SYN: true, Window: 1024}
	case 17:
		return &layers.UDP{SrcPort: layers.UDPPort(s.sport), DstPort: layers.UDPPort(s.dport)}
	case 132:
		return &layers.SCTP{SrcPort: layers.SCTPPort(s.sport), DstPort: layers.SCTPPort(s.dport)}
	case 1:
		return &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}
	case 58:
		return &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
	}
	return nil
}

func ip4Layers(s frameSpec) []gopacket.SerializableLayer {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocol(s.proto),
		SrcIP: net.ParseIP(s.src).To4(), DstIP: net.ParseIP(s.dst).To4()}
	if s.ipOpts {
		// Router Alert: makes IHL 6, so the ports are 4 bytes later.
		ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
	}
	switch s.frag {
	case 1:
		ip.Flags = layers.IPv4MoreFragments
	case 2:
		// A later fragment: its payload starts with bytes that would
		// read as ports sport/dport if the fragment offset were ignored.
		ip.FragOffset = 185
		p := make([]byte, 16)
		binary.BigEndian.PutUint16(p, s.sport)
		binary.BigEndian.PutUint16(p[2:], s.dport)
		return []gopacket.SerializableLayer{ip, gopacket.Payload(p)}
	}
	ls := []gopacket.SerializableLayer{ip}
	if t := transport(s); t != nil {
		ls = append(ls, t)
	}
	return appendPayload(ls, s)
}

// appendPayload adds a few payload bytes (none after SCTP, whose
// payload would have to be chunks).
func appendPayload(ls []gopacket.SerializableLayer, s frameSpec) []gopacket.SerializableLayer {
	if s.proto == 132 {
		return ls
	}
	return append(ls, gopacket.Payload([]byte("payload.")))
}

func ip6Layers(s frameSpec) []gopacket.SerializableLayer {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(s.proto),
		SrcIP: net.ParseIP(s.src), DstIP: net.ParseIP(s.dst)}
	if s.frag == 0 {
		ls := []gopacket.SerializableLayer{ip}
		if t := transport(s); t != nil {
			ls = append(ls, t)
		}
		return appendPayload(ls, s)
	}
	// Fragment header (first fragment) followed by a hand-made
	// transport header, as gopacket cannot serialize IPv6Fragment.
	ip.NextHeader = layers.IPProtocolIPv6Fragment
	p := []byte{s.proto, 0, 0, 1, 0, 0, 0, 42}
	p = binary.BigEndian.AppendUint16(p, s.sport)
	p = binary.BigEndian.AppendUint16(p, s.dport)
	p = append(p, 0, 16, 0, 0, 'p', 'a', 'y', 'l', 'o', 'a', 'd', '.')
	return []gopacket.SerializableLayer{ip, gopacket.Payload(p)}
}

// testFrames is the fixed corpus of the table tests.
var testFrames = []struct {
	name string
	spec frameSpec
}{
	{"tcp4", frameSpec{kind: "ip4", src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 80}},
	{"udp4", frameSpec{kind: "ip4", src: "10.0.0.3", dst: "192.168.1.1", proto: 17, sport: 5353, dport: 53}},
	{"sctp4", frameSpec{kind: "ip4", src: "10.0.0.1", dst: "10.0.0.2", proto: 132, sport: 2905, dport: 2905}},
	{"icmp4", frameSpec{kind: "ip4", src: "10.0.0.1", dst: "8.8.8.8", proto: 1}},
	{"opts4", frameSpec{kind: "ip4", src: "172.16.5.4", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 8080, ipOpts: true}},
	{"frag1", frameSpec{kind: "ip4", src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1000, dport: 53, frag: 1}},
	{"frag2", frameSpec{kind: "ip4", src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 53, dport: 53, frag: 2}},
	{"arp", frameSpec{kind: "arp", srcMAC: "02:00:00:00:00:aa", dstMAC: "ff:ff:ff:ff:ff:ff", src: "10.0.0.1", dst: "10.0.0.2"}},
	{"rarp", frameSpec{kind: "rarp", src: "10.9.9.9", dst: "10.0.0.9"}},
	{"tcp6", frameSpec{kind: "ip6", src: "2001:db8::1", dst: "2001:db8::2", proto: 6, sport: 1234, dport: 80}},
	{"udp6frag", frameSpec{kind: "ip6", src: "2001:db8::1", dst: "fe80::2", proto: 17, sport: 1000, dport: 53, frag: 1}},
	{"icmp6", frameSpec{kind: "ip6", dstMAC: "33:33:00:00:00:01", src: "2001:db8::1", dst: "ff02::1", proto: 58}},
	{"v100", frameSpec{kind: "ip4", vlans: []uint16{100}, src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 80}},
	{"v200arp", frameSpec{kind: "arp", vlans: []uint16{200}, src: "10.0.0.1", dst: "10.0.0.2"}},
	{"qinq", frameSpec{kind: "ip4", vlans: []uint16{300, 100}, outerTPID: 0x88a8, src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 80}},
	{"mcast4", frameSpec{kind: "ip4", dstMAC: "01:00:5e:00:00:fb", src: "10.0.0.1", dst: "224.0.0.251", proto: 17, sport: 5353, dport: 5353}},
	{"short", frameSpec{kind: "ip4", src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 80, truncate: 34}},
	{"raw", frameSpec{kind: "raw", dstMAC: "01:80:c2:00:00:0e", etherType: 0x88b5}},
}

// TestFrames checks that the corpus decodes as intended.
func TestFrames(t *testing.T) {
	for _, f := range testFrames {
		b := build(t, f.spec)
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		switch f.spec.kind {
		case "ip4", "ip6":
			nl := p.NetworkLayer()
			if nl == nil || nl.NetworkFlow().Src().String() != f.spec.src {
				t.Errorf("%s: network layer %v, want source %s", f.name, nl, f.spec.src)
			}
		case "arp":
			if p.Layer(layers.LayerTypeARP) == nil {
				t.Errorf("%s: no ARP layer", f.name)
			}
		}
		if f.name == "opts4" && b[14]&0x0f != 6 {
			t.Errorf("opts4: IHL = %d, want 6", b[14]&0x0f)
		}
	}
}
