package dhcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Header sizes and field values of the Ethernet/IPv4/UDP envelope.
const (
	ethHeaderLen  = 14
	ipHeaderLen   = 20
	udpHeaderLen  = 8
	etherTypeIPv4 = 0x0800
	protoUDP      = 17
	serverPort    = 67
	clientPort    = 68
	replyTTL      = 64
)

var (
	// errIgnore marks frames that are fine but not a DHCP request for this
	// server; they are dropped without counting.
	errIgnore = errors.New("not a DHCP request for this server")
	// errMalformed marks frames that are broken; they are counted.
	errMalformed = errors.New("malformed frame")
)

var (
	broadcastMAC     = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// envelope is what the Ethernet/IPv4/UDP headers of a request say.
type envelope struct {
	srcMAC  net.HardwareAddr
	srcIP   netip.Addr
	dstIP   netip.Addr
	payload []byte // the BOOTP message, aliasing the frame
}

// parseFrame unwraps an untagged Ethernet frame carrying IPv4/UDP from the
// client port to the server port, addressed to this server (its MAC or
// broadcast; its IP, the limited or the subnet broadcast). It returns an
// error wrapping errIgnore or errMalformed otherwise.
//
// The IPv4 header checksum is verified; the UDP checksum is not: a client
// renewing through a kernel UDP socket (udhcpc does) leaves checksum
// offload to the NIC, so the frame reaches a veth or tap peer with only the
// pseudo-header sum in place. Corruption is not a concern on a virtual link
// and the BOOTP message is parsed strictly anyway.
func (s *Server) parseFrame(frame []byte) (envelope, error) {
	var env envelope
	if len(frame) < ethHeaderLen {
		return env, fmt.Errorf("%w: %d-byte frame is shorter than an Ethernet header", errMalformed, len(frame))
	}
	dstMAC := net.HardwareAddr(frame[0:6])
	if !isBroadcastMAC(dstMAC) && !macEqual(dstMAC, s.cfg.ServerMAC) {
		return env, fmt.Errorf("%w: frame to %s", errIgnore, dstMAC)
	}
	if et := binary.BigEndian.Uint16(frame[12:14]); et != etherTypeIPv4 {
		return env, fmt.Errorf("%w: ethertype %#04x", errIgnore, et)
	}
	ip := frame[ethHeaderLen:]
	if len(ip) < ipHeaderLen {
		return env, fmt.Errorf("%w: %d-byte IPv4 packet", errMalformed, len(ip))
	}
	if ip[0]>>4 != 4 {
		return env, fmt.Errorf("%w: IP version %d in an IPv4 frame", errMalformed, ip[0]>>4)
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if ihl < ipHeaderLen || total < ihl || total > len(ip) {
		return env, fmt.Errorf("%w: IPv4 header length %d, total length %d, %d bytes present", errMalformed, ihl, total, len(ip))
	}
	if checksum(ip[:ihl], 0) != 0 {
		return env, fmt.Errorf("%w: bad IPv4 header checksum", errMalformed)
	}
	ip = ip[:total] // drop Ethernet padding
	if ip[9] != protoUDP {
		return env, fmt.Errorf("%w: IP protocol %d", errIgnore, ip[9])
	}
	if frag := binary.BigEndian.Uint16(ip[6:8]); frag&0x3fff != 0 {
		return env, fmt.Errorf("%w: IPv4 fragment", errIgnore)
	}
	env.srcIP = netip.AddrFrom4([4]byte(ip[12:16]))
	env.dstIP = netip.AddrFrom4([4]byte(ip[16:20]))
	if env.dstIP != limitedBroadcast && env.dstIP != s.cfg.ServerIP && env.dstIP != s.bcast {
		return env, fmt.Errorf("%w: packet to %s", errIgnore, env.dstIP)
	}
	udp := ip[ihl:]
	if len(udp) < udpHeaderLen {
		return env, fmt.Errorf("%w: %d-byte UDP datagram", errMalformed, len(udp))
	}
	src, dst := binary.BigEndian.Uint16(udp[0:2]), binary.BigEndian.Uint16(udp[2:4])
	if dst != serverPort || src != clientPort {
		return env, fmt.Errorf("%w: UDP port %d to %d", errIgnore, src, dst)
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < udpHeaderLen || ulen > len(udp) {
		return env, fmt.Errorf("%w: UDP length %d, %d bytes present", errMalformed, ulen, len(udp))
	}
	env.srcMAC = net.HardwareAddr(frame[6:12])
	env.payload = udp[udpHeaderLen:ulen]
	return env, nil
}

// buildFrame wraps a BOOTP reply from the server to dstIP:68 at dstMAC in
// UDP, IPv4 and Ethernet headers with valid checksums.
func (s *Server) buildFrame(dstMAC net.HardwareAddr, dstIP netip.Addr, payload []byte, id uint16) []byte {
	ipLen := ipHeaderLen + udpHeaderLen + len(payload)
	frame := make([]byte, ethHeaderLen+ipLen)
	copy(frame[0:6], dstMAC)
	copy(frame[6:12], s.cfg.ServerMAC)
	binary.BigEndian.PutUint16(frame[12:14], etherTypeIPv4)

	src, dst := s.cfg.ServerIP.As4(), dstIP.As4()
	ip := frame[ethHeaderLen:]
	ip[0] = 0x45 // version 4, 20-byte header
	binary.BigEndian.PutUint16(ip[2:4], uint16(ipLen))
	binary.BigEndian.PutUint16(ip[4:6], id)
	ip[8] = replyTTL
	ip[9] = protoUDP
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:12], checksum(ip[:ipHeaderLen], 0))

	udp := ip[ipHeaderLen:]
	binary.BigEndian.PutUint16(udp[0:2], serverPort)
	binary.BigEndian.PutUint16(udp[2:4], clientPort)
	binary.BigEndian.PutUint16(udp[4:6], uint16(len(udp)))
	copy(udp[udpHeaderLen:], payload)
	// Pseudo-header: addresses, protocol and UDP length.
	pseudo := sum(src[:], 0)
	pseudo = sum(dst[:], pseudo)
	pseudo += protoUDP + uint32(len(udp))
	c := checksum(udp, pseudo)
	if c == 0 {
		c = 0xffff // zero means "no checksum" in UDP over IPv4
	}
	binary.BigEndian.PutUint16(udp[6:8], c)
	return frame
}

// sum adds b as big-endian 16-bit words to acc (RFC 1071).
func sum(b []byte, acc uint32) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// checksum returns the Internet checksum of b seeded with acc; over a
// header that holds its valid checksum it returns 0.
func checksum(b []byte, acc uint32) uint16 {
	acc = sum(b, acc)
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

func isBroadcastMAC(m net.HardwareAddr) bool { return macEqual(m, broadcastMAC) }

func macEqual(a, b net.HardwareAddr) bool { return string(a) == string(b) }
