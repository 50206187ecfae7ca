package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// maxDatagram is the largest UDP payload relayed.
const maxDatagram = 65535

// packetSock is a mapping's listening UDP socket. On a wildcard-bound
// *net.UDPConn it learns each datagram's destination address (IP_PKTINFO
// or IPV6_PKTINFO) and sends replies from it.
type packetSock struct {
	pc      net.PacketConn
	uc      *net.UDPConn // pc, when it is one
	v6      bool         // uc is an AF_INET6 socket
	pktinfo bool         // control messages are on
	oobLen  int
}

// newPacketSock wraps pc, turning on destination-address control messages
// when pc is a UDP socket bound to a wildcard address.
func newPacketSock(pc net.PacketConn) (*packetSock, error) {
	s := &packetSock{pc: pc}
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return s, nil
	}
	s.uc = uc
	local := addrPortOf(uc.LocalAddr())
	if !local.Addr().IsUnspecified() {
		return s, nil // replies leave from the one bound address anyway
	}
	v6, err := isIPv6Socket(uc)
	if err != nil {
		return nil, err
	}
	s.v6 = v6
	if v6 {
		err = ipv6.NewPacketConn(uc).SetControlMessage(ipv6.FlagDst, true)
		s.oobLen = len(ipv6.NewControlMessage(ipv6.FlagDst))
	} else {
		err = ipv4.NewPacketConn(uc).SetControlMessage(ipv4.FlagDst, true)
		s.oobLen = len(ipv4.NewControlMessage(ipv4.FlagDst))
	}
	if err != nil {
		return nil, fmt.Errorf("proxy: packet info on %s: %w", local, err)
	}
	s.pktinfo = true
	return s, nil
}

// isIPv6Socket tells a socket's address family (SO_DOMAIN).
func isIPv6Socket(uc *net.UDPConn) (bool, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false, fmt.Errorf("proxy: socket family: %w", err)
	}
	var domain int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		domain, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return false, fmt.Errorf("proxy: socket family: %w", err)
	}
	if serr != nil {
		return false, fmt.Errorf("proxy: socket family: %w", serr)
	}
	return domain == unix.AF_INET6, nil
}

// read receives one datagram into buf: its length, the client's address
// and, with packet info, the local address it was sent to (else zero).
func (s *packetSock) read(buf, oob []byte) (int, netip.AddrPort, netip.Addr, error) {
	if s.uc == nil {
		n, from, err := s.pc.ReadFrom(buf)
		return n, addrPortOf(from), netip.Addr{}, err
	}
	n, oobn, _, from, err := s.uc.ReadMsgUDPAddrPort(buf, oob[:s.oobLen])
	if err != nil {
		return 0, netip.AddrPort{}, netip.Addr{}, err
	}
	client := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	var local netip.Addr
	if s.pktinfo {
		local = parseDst(oob[:oobn], s.v6)
	}
	return n, client, local, nil
}

// parseDst returns the local address a datagram was received on, from
// its IP_PKTINFO (ipi_spec_dst) or IPV6_PKTINFO (ipi6_addr) control
// message; the zero Addr when there is none. It parses by hand: x/net's
// ControlMessage.Parse allocates per datagram and panics on some inputs
// (an IPPROTO_IP message of type 0; see FuzzParseDst).
func parseDst(oob []byte, v6 bool) netip.Addr {
	const hdr = unix.SizeofCmsghdr
	for len(oob) >= hdr {
		var n uint64 // cmsg_len: size_t
		if hdr == 16 {
			n = binary.NativeEndian.Uint64(oob)
		} else {
			n = uint64(binary.NativeEndian.Uint32(oob))
		}
		level := int32(binary.NativeEndian.Uint32(oob[hdr-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[hdr-4:]))
		if n < hdr || n > uint64(len(oob)) {
			return netip.Addr{}
		}
		data := oob[hdr:n]
		switch {
		case !v6 && level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
			a := netip.AddrFrom4([4]byte(data[4:8]))
			if a.IsUnspecified() {
				return netip.Addr{}
			}
			return a
		case v6 && level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo { in6_addr addr; int ifindex; }
			a := netip.AddrFrom16([16]byte(data[:16]))
			if a.IsUnspecified() {
				return netip.Addr{}
			}
			return a
		}
		next := unix.CmsgSpace(int(n) - hdr)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return netip.Addr{}
}

// replyOOB is the control message that makes a reply leave from local,
// or nil to let the kernel choose (no packet info, or an address that
// cannot be a source: multicast or broadcast). An IPv4 client of a
// dual-stack IPv6 socket gets IP_PKTINFO, which Linux takes there too.
func (s *packetSock) replyOOB(local netip.Addr) []byte {
	if !s.pktinfo || !local.IsValid() || local.IsMulticast() || local.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return nil
	}
	if s.v6 && !local.Is4In6() {
		return (&ipv6.ControlMessage{Src: local.AsSlice()}).Marshal()
	}
	return (&ipv4.ControlMessage{Src: local.Unmap().AsSlice()}).Marshal()
}

// write sends b to client, from the source address oob asks for.
func (s *packetSock) write(b []byte, client netip.AddrPort, oob []byte) error {
	if s.uc == nil {
		_, err := s.pc.WriteTo(b, net.UDPAddrFromAddrPort(client))
		return err
	}
	_, _, err := s.uc.WriteMsgUDPAddrPort(b, oob, client)
	if err != nil && oob != nil && errors.Is(err, syscall.EINVAL) {
		// The address is not usable as a source (e.g. a subnet
		// broadcast address): let the kernel choose.
		_, _, err = s.uc.WriteMsgUDPAddrPort(b, nil, client)
	}
	return err
}

func (s *packetSock) close() error { return s.pc.Close() }
