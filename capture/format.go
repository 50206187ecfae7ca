package capture

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	vswitch "github.com/switchyard/switchyard/switch"
)

// Formatter turns frames into one tcpdump-like line each: time, port,
// direction, then the L2/L3/L4 summary with ARP, DHCP, DNS and ICMP
// details. It decodes with a gopacket DecodingLayerParser over
// preallocated layers, so plain frames decode without allocation.
type Formatter struct {
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	arp     layers.ARP
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	dns     layers.DNS
	dhcp    layers.DHCPv4
	payload gopacket.Payload
	b       []byte
	// Multi prefixes the port with its network.
	Multi bool
}

// NewFormatter returns a formatter.
func NewFormatter() *Formatter {
	f := &Formatter{}
	f.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&f.eth, &f.dot1q, &f.arp, &f.ip4, &f.ip6, &f.tcp, &f.udp, &f.icmp4, &f.icmp6, &f.dns, &f.dhcp, &f.payload)
	f.parser.IgnoreUnsupported = true
	return f
}

// Format returns the line for fr (valid until the next call).
func (f *Formatter) Format(fr Frame) []byte {
	b := f.b[:0]
	b = fr.Time.AppendFormat(b, "15:04:05.000000")
	b = append(b, ' ')
	if f.Multi {
		b = append(b, fr.Network...)
		b = append(b, '/')
	}
	b = append(b, fr.Port...)
	if fr.Dir == vswitch.In {
		b = append(b, " In  "...)
	} else {
		b = append(b, " Out "...)
	}
	f.decoded = f.decoded[:0]
	err := f.parser.DecodeLayers(fr.Data, &f.decoded)
	b = f.summary(b)
	if err != nil && len(f.decoded) == 0 {
		b = append(b, "malformed frame"...)
	}
	b = append(b, ", length "...)
	b = strconv.AppendInt(b, int64(fr.OrigLen), 10)
	b = append(b, '\n')
	f.b = b
	return b
}

func (f *Formatter) has(t gopacket.LayerType) bool {
	for _, d := range f.decoded {
		if d == t {
			return true
		}
	}
	return false
}

// summary appends the layers' description.
func (f *Formatter) summary(b []byte) []byte {
	if !f.has(layers.LayerTypeEthernet) {
		return b
	}
	b = appendMAC(b, f.eth.SrcMAC)
	b = append(b, " > "...)
	b = appendMAC(b, f.eth.DstMAC)
	if f.has(layers.LayerTypeDot1Q) {
		b = append(b, ", vlan "...)
		b = strconv.AppendUint(b, uint64(f.dot1q.VLANIdentifier), 10)
	}
	b = append(b, ", "...)
	switch {
	case f.has(layers.LayerTypeARP):
		return f.arpLine(b)
	case f.has(layers.LayerTypeIPv4):
		return f.l4(b, "IP ", f.ip4.SrcIP, f.ip4.DstIP)
	case f.has(layers.LayerTypeIPv6):
		return f.l4(b, "IP6 ", f.ip6.SrcIP, f.ip6.DstIP)
	}
	return append(b, "ethertype "+f.eth.EthernetType.String()...)
}

func (f *Formatter) arpLine(b []byte) []byte {
	ip := func(x []byte) string { return fmt.Sprintf("%d.%d.%d.%d", x[0], x[1], x[2], x[3]) }
	if len(f.arp.DstProtAddress) != 4 || len(f.arp.SourceProtAddress) != 4 {
		return append(b, "ARP"...)
	}
	if f.arp.Operation == layers.ARPRequest {
		return append(b, "ARP, Request who-has "+ip(f.arp.DstProtAddress)+" tell "+ip(f.arp.SourceProtAddress)...)
	}
	return append(b, "ARP, Reply "+ip(f.arp.SourceProtAddress)+" is-at "+fmt.Sprintf("%x", f.arp.SourceHwAddress)...)
}

func (f *Formatter) l4(b []byte, fam string, src, dst net.IP) []byte {
	b = append(b, fam...)
	switch {
	case f.has(layers.LayerTypeTCP):
		t := &f.tcp
		b = hostPort(b, src, uint16(t.SrcPort))
		b = append(b, " > "...)
		b = hostPort(b, dst, uint16(t.DstPort))
		b = append(b, ": TCP ["...)
		b = appendTCPFlags(b, t)
		b = append(b, "] seq "...)
		b = strconv.AppendUint(b, uint64(t.Seq), 10)
		if t.ACK {
			b = append(b, " ack "...)
			b = strconv.AppendUint(b, uint64(t.Ack), 10)
		}
		b = append(b, " win "...)
		b = strconv.AppendUint(b, uint64(t.Window), 10)
		b = append(b, " len "...)
		return strconv.AppendInt(b, int64(len(t.Payload)), 10)
	case f.has(layers.LayerTypeUDP):
		b = hostPort(b, src, uint16(f.udp.SrcPort))
		b = append(b, " > "...)
		b = hostPort(b, dst, uint16(f.udp.DstPort))
		b = append(b, ": "...)
		return f.udpApp(b)
	}
	b = appendIP(b, src)
	b = append(b, " > "...)
	b = appendIP(b, dst)
	switch {
	case f.has(layers.LayerTypeICMPv4):
		return append(b, ": ICMP "+icmpText(f.icmp4.TypeCode, f.icmp4.Id, f.icmp4.Seq)...)
	case f.has(layers.LayerTypeICMPv6):
		return append(b, ": ICMP6 "+f.icmp6.TypeCode.String()...)
	}
	return b
}

// appendIP appends an address without allocating.
func appendIP(b []byte, ip net.IP) []byte {
	if a, ok := netip.AddrFromSlice(ip); ok {
		return a.Unmap().AppendTo(b)
	}
	return append(b, '?')
}

func hostPort(b []byte, ip net.IP, port uint16) []byte {
	b = appendIP(b, ip)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(port), 10)
}

func (f *Formatter) udpApp(b []byte) []byte {
	switch {
	case f.has(layers.LayerTypeDNS):
		return append(b, dnsText(&f.dns)...)
	case f.has(layers.LayerTypeDHCPv4):
		return append(b, dhcpText(&f.dhcp)...)
	}
	b = append(b, "UDP, length "...)
	return strconv.AppendInt(b, int64(len(f.udp.Payload)), 10)
}

func appendTCPFlags(b []byte, t *layers.TCP) []byte {
	for _, fl := range [...]struct {
		on bool
		c  byte
	}{{t.SYN, 'S'}, {t.FIN, 'F'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.ACK, '.'}, {t.URG, 'U'}} {
		if fl.on {
			b = append(b, fl.c)
		}
	}
	return b
}

func icmpText(tc layers.ICMPv4TypeCode, id, seq uint16) string {
	switch tc.Type() {
	case layers.ICMPv4TypeEchoRequest:
		return fmt.Sprintf("echo request, id %d, seq %d", id, seq)
	case layers.ICMPv4TypeEchoReply:
		return fmt.Sprintf("echo reply, id %d, seq %d", id, seq)
	}
	return tc.String()
}

func dnsText(d *layers.DNS) string {
	var s strings.Builder
	fmt.Fprintf(&s, "DNS id %d", d.ID)
	if d.QR {
		fmt.Fprintf(&s, " response %s", d.ResponseCode)
	} else {
		s.WriteString(" query")
	}
	for _, q := range d.Questions {
		fmt.Fprintf(&s, " %s %s?", q.Type, q.Name)
	}
	for _, a := range d.Answers {
		if a.IP != nil {
			fmt.Fprintf(&s, " %s %s", a.Type, a.IP)
		}
	}
	return s.String()
}

func dhcpText(d *layers.DHCPv4) string {
	msg := "?"
	for _, o := range d.Options {
		if o.Type == layers.DHCPOptMessageType && len(o.Data) == 1 {
			msg = layers.DHCPMsgType(o.Data[0]).String()
		}
	}
	s := fmt.Sprintf("DHCP %s, xid 0x%08x, client %s", msg, d.Xid, d.ClientHWAddr)
	if !d.YourClientIP.IsUnspecified() && d.YourClientIP != nil {
		s += ", your-ip " + d.YourClientIP.String()
	}
	return s
}

func appendMAC(b []byte, m net.HardwareAddr) []byte {
	const hex = "0123456789abcdef"
	for i, c := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[c>>4], hex[c&15])
	}
	return b
}
