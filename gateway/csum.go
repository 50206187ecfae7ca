package gateway

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// checksumsValid verifies the IPv4 header checksum and the TCP, UDP or
// ICMP checksum of an Ethernet frame whose sender did not leave checksums
// to offload. The stack is told checksums are validated by the link
// (CapabilityRXChecksumOffload), so this is where bad ones are caught.
// For IPv6, a TCP, UDP or ICMPv6 checksum directly after the fixed header
// is verified; packets with extension headers (fragments, MLD's hop-by-hop
// options) are not. Other frames (ARP) pass: ARP has no checksum.
func checksumsValid(frame []byte) bool {
	if len(frame) < header.EthernetMinimumSize {
		return false
	}
	switch header.Ethernet(frame).Type() {
	case header.IPv4ProtocolNumber:
	case header.IPv6ProtocolNumber:
		return checksumsValid6(frame[header.EthernetMinimumSize:])
	default:
		return true
	}
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	if !ip.IsValid(len(ip)) || !ip.IsChecksumValid() {
		return false
	}
	if ip.More() || ip.FragmentOffset() != 0 {
		return true // fragments: the L4 checksum covers the reassembled packet
	}
	payload := ip[ip.HeaderLength():ip.TotalLength()]
	switch ip.TransportProtocol() {
	case header.TCPProtocolNumber:
		return l4Valid(ip, payload, header.TCPProtocolNumber, header.TCPMinimumSize)
	case header.UDPProtocolNumber:
		if len(payload) < header.UDPMinimumSize {
			return false
		}
		if header.UDP(payload).Checksum() == 0 {
			return true // IPv4 UDP without checksum
		}
		return l4Valid(ip, payload, header.UDPProtocolNumber, header.UDPMinimumSize)
	case header.ICMPv4ProtocolNumber:
		return len(payload) >= header.ICMPv4MinimumSize && checksum.Checksum(payload, 0) == 0xffff
	}
	return true
}

func l4Valid(ip header.IPv4, payload []byte, proto tcpip.TransportProtocolNumber, min int) bool {
	if len(payload) < min {
		return false
	}
	sum := header.PseudoHeaderChecksum(proto, ip.SourceAddress(), ip.DestinationAddress(), uint16(len(payload)))
	return checksum.Checksum(payload, sum) == 0xffff
}

func checksumsValid6(b []byte) bool {
	ip := header.IPv6(b)
	if !ip.IsValid(len(ip)) {
		return false
	}
	payload := ip[header.IPv6MinimumSize : header.IPv6MinimumSize+int(ip.PayloadLength())]
	proto := tcpip.TransportProtocolNumber(ip.NextHeader())
	var min int
	switch proto {
	case header.TCPProtocolNumber:
		min = header.TCPMinimumSize
	case header.UDPProtocolNumber:
		min = header.UDPMinimumSize // a zero UDP checksum is invalid in IPv6
	case header.ICMPv6ProtocolNumber:
		min = header.ICMPv6MinimumSize
	default:
		return true
	}
	if len(payload) < min {
		return false
	}
	sum := header.PseudoHeaderChecksum(proto, ip.SourceAddress(), ip.DestinationAddress(), uint16(len(payload)))
	return checksum.Checksum(payload, sum) == 0xffff
}
