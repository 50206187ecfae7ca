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
// Frames that are not IPv4 (ARP, IPv6) pass: ARP has no checksum and
// IPv6 is not routed by the gateway.
func checksumsValid(frame []byte) bool {
	if len(frame) < header.EthernetMinimumSize {
		return false
	}
	if header.Ethernet(frame).Type() != header.IPv4ProtocolNumber {
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
