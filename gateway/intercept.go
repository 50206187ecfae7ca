package gateway

import (
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/switchyard/switchyard/nat"
	"github.com/switchyard/switchyard/port"
)

// intercept handles the frames the stack must not see: ARP requests for
// other addresses (a spoofing stack would claim every address on the
// network), DHCP (served at the frame level, before clients have an
// address), and ICMP echo to outside addresses (forwarded by the NAT, or
// dropped: a spoofing stack would answer every ping itself). It returns
// true when the frame was consumed.
func (g *Gateway) intercept(frame []byte) bool {
	eth := header.Ethernet(frame)
	switch eth.Type() {
	case header.ARPProtocolNumber:
		a := header.ARP(frame[header.EthernetMinimumSize:])
		if !a.IsValid() {
			return true
		}
		target := netip.AddrFrom4([4]byte(a.ProtocolAddressTarget()))
		return a.Op() == header.ARPRequest && target != g.cfg.Address && target != g.cfg.DNSAddress
	case header.IPv4ProtocolNumber:
		return g.interceptIPv4(frame)
	case header.IPv6ProtocolNumber:
		if g.cfg.Subnet6.IsValid() {
			return g.interceptIPv6(frame)
		}
	}
	// Other frames (IPv6 when it is off, and the like) are not for the
	// gateway.
	return true
}

func (g *Gateway) interceptIPv4(frame []byte) bool {
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	if !ip.IsValid(len(ip)) {
		return true
	}
	payload := ip[ip.HeaderLength():ip.TotalLength()]
	if g.cfg.DNS == nil && g.cfg.DNSAddress != g.cfg.Address && netip.AddrFrom4(ip.DestinationAddress().As4()) == g.cfg.DNSAddress {
		return true // a DNS address without DNS: silence
	}
	if g.cfg.UnreachableHostLoopback && g.deniedHostLoopback(ip, payload) {
		g.inject(unreachableFrame(header.Ethernet(frame), g.link.mac, ip))
		return true
	}
	switch ip.TransportProtocol() {
	case header.UDPProtocolNumber:
		if len(payload) >= header.UDPMinimumSize && header.UDP(payload).DestinationPort() == 67 && g.cfg.DHCP != nil {
			if reply, ok := g.cfg.DHCP(frame); ok {
				g.inject(reply)
			}
			return true
		}
	case header.ICMPv4ProtocolNumber:
		dst := netip.AddrFrom4(ip.DestinationAddress().As4())
		if len(payload) >= header.ICMPv4MinimumSize && header.ICMPv4(payload).Type() == header.ICMPv4Echo && dst != g.cfg.Address {
			g.forwardPing(header.Ethernet(frame).SourceAddress(), ip, header.ICMPv4(payload))
			return true
		}
	}
	return false
}

// forwardPing hands an echo request to the NAT and, when the outside
// answers, sends the endpoint the reply.
func (g *Gateway) forwardPing(endpointMAC tcpip.LinkAddress, ip header.IPv4, req header.ICMPv4) {
	e := nat.Echo{
		From: netip.AddrFrom4(ip.SourceAddress().As4()),
		To:   netip.AddrFrom4(ip.DestinationAddress().As4()),
		ID:   req.Ident(), Seq: req.Sequence(),
		Data: append([]byte(nil), req.Payload()...),
	}
	g.nat.Ping(e, func(ans nat.Echo) { g.inject(echoReplyFrame(endpointMAC, g.link.mac, ans)) })
}

// echoReplyFrame builds the Ethernet frame carrying an echo reply.
func echoReplyFrame(dstMAC, srcMAC tcpip.LinkAddress, e nat.Echo) []byte {
	n := header.EthernetMinimumSize + header.IPv4MinimumSize + header.ICMPv4MinimumSize + len(e.Data)
	b := make([]byte, n)
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: srcMAC, DstAddr: dstMAC, Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(b[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(n - header.EthernetMinimumSize), TTL: 64, Protocol: uint8(header.ICMPv4ProtocolNumber),
		SrcAddr: tcpip.AddrFrom4(e.From.As4()), DstAddr: tcpip.AddrFrom4(e.To.As4()),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	icmp := header.ICMPv4(ip[header.IPv4MinimumSize:])
	icmp.SetType(header.ICMPv4EchoReply)
	icmp.SetIdent(e.ID)
	icmp.SetSequence(e.Seq)
	copy(icmp.Payload(), e.Data)
	icmp.SetChecksum(0)
	icmp.SetChecksum(^checksum.Checksum(icmp, 0))
	return b
}

// inject sends a frame the gateway built (not the stack) to the switch.
func (g *Gateway) inject(frame []byte) {
	f := port.Get(len(frame))
	f.SetData(frame)
	select {
	case g.link.out <- f:
		g.link.stats.fromStack.Add(1)
	default:
		port.Put(f)
		g.link.stats.txQueueDrops.Add(1)
	}
}

// deniedHostLoopback reports whether a packet opens a connection to the
// gateway address that host loopback does not allow: a TCP SYN, or UDP,
// to a port that is not a gateway service there.
func (g *Gateway) deniedHostLoopback(ip header.IPv4, payload []byte) bool {
	if g.nat.HostLoopbackAllowed() || netip.AddrFrom4(ip.DestinationAddress().As4()) != g.cfg.Address {
		return false
	}
	port, ok := openingPort(ip.TransportProtocol(), payload)
	if !ok {
		return false
	}
	dnsHere := g.cfg.DNS != nil && g.cfg.DNSAddress == g.cfg.Address
	return !(port == 53 && dnsHere) && port != 67
}

// openingPort returns the destination port of a transport payload that
// opens a flow (a TCP SYN without ACK, or any UDP datagram); ok is false
// for anything else, truncated headers included.
func openingPort(proto tcpip.TransportProtocolNumber, payload []byte) (port uint16, ok bool) {
	switch proto {
	case header.TCPProtocolNumber:
		if len(payload) < header.TCPMinimumSize {
			return 0, false
		}
		t := header.TCP(payload)
		if t.Flags()&(header.TCPFlagSyn|header.TCPFlagAck) != header.TCPFlagSyn {
			return 0, false
		}
		return t.DestinationPort(), true
	case header.UDPProtocolNumber:
		if len(payload) < header.UDPMinimumSize {
			return 0, false
		}
		return header.UDP(payload).DestinationPort(), true
	}
	return 0, false
}

// unreachableFrame builds ICMP destination unreachable, code network
// unreachable, answering the packet ip (what slirp4netns sends for the
// host-loopback address when it is disabled).
func unreachableFrame(req header.Ethernet, srcMAC tcpip.LinkAddress, ip header.IPv4) []byte {
	quote := ip[:min(len(ip), int(ip.HeaderLength())+8)]
	n := header.EthernetMinimumSize + header.IPv4MinimumSize + header.ICMPv4MinimumSize + len(quote)
	b := make([]byte, n)
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: srcMAC, DstAddr: req.SourceAddress(), Type: header.IPv4ProtocolNumber})
	out := header.IPv4(b[header.EthernetMinimumSize:])
	out.Encode(&header.IPv4Fields{
		TotalLength: uint16(n - header.EthernetMinimumSize), TTL: 64, Protocol: uint8(header.ICMPv4ProtocolNumber),
		SrcAddr: ip.DestinationAddress(), DstAddr: ip.SourceAddress(),
	})
	out.SetChecksum(^out.CalculateChecksum())
	icmp := header.ICMPv4(out[header.IPv4MinimumSize:])
	icmp.SetType(header.ICMPv4DstUnreachable)
	icmp.SetCode(header.ICMPv4NetUnreachable)
	copy(icmp[header.ICMPv4MinimumSize:], quote)
	icmp.SetChecksum(^checksum.Checksum(icmp, 0))
	return b
}
