package vxlan

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/switchyard/switchyard/mmsg"
	"golang.org/x/sys/unix"
)

// sender is one of a socket's sending sockets, bound to its own ephemeral
// UDP port: the source ports flows are spread over.
type sender struct {
	conn *net.UDPConn
	rc   syscall.RawConn
}

// openSenders opens n sending sockets on addr, each on a port the kernel
// picks from its ephemeral range.
func openSenders(addr netip.Addr, n, buf int) ([]sender, error) {
	var ss []sender
	for range n {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		if err == nil {
			var rc syscall.RawConn
			if rc, err = c.SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) { mmsg.SetBuffers(int(fd), buf) })
				clearDF(rc)
				ss = append(ss, sender{conn: c, rc: rc})
				continue
			}
			c.Close()
		}
		closeSenders(ss)
		return nil, fmt.Errorf("vxlan: sending socket: %w", err)
	}
	return ss, nil
}

// clearDF sends without the don't-fragment bit, as the Linux vxlan device
// does by default (df unset): a path with a smaller MTU than the underlay
// interface fragments the outer datagram instead of dropping it.
func clearDF(rc syscall.RawConn) {
	rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
	})
}

// gsoSupported reports whether the kernel takes UDP_SEGMENT (Linux 4.18):
// without it super-frames are sent datagram by datagram.
func gsoSupported(rc syscall.RawConn) bool {
	ok := false
	rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, 0) == nil
	})
	return ok
}

func closeSenders(ss []sender) {
	for _, s := range ss {
		s.conn.Close()
	}
}

// SourcePorts returns the UDP source ports the socket sends from.
func (s *Socket) SourcePorts() []int {
	var out []int
	for _, x := range s.senders {
		out = append(out, x.conn.LocalAddr().(*net.UDPAddr).Port)
	}
	return out
}

// flowHash hashes an inner frame's flow, as the Linux vxlan driver picks
// its source port (udp_flow_src_port): the MAC addresses, and for IPv4 the
// addresses, protocol and TCP/UDP ports. Frames of one flow get one hash.
func flowHash(d []byte) uint32 {
	h := uint32(2166136261)
	mix := func(b []byte) {
		for _, c := range b {
			h = (h ^ uint32(c)) * 16777619
		}
	}
	mix(d[:12])
	if len(d) < 34 || binary.BigEndian.Uint16(d[12:]) != 0x0800 {
		return h
	}
	ip := d[14:]
	mix(ip[9:10])
	mix(ip[12:20])
	ihl := int(ip[0]&0x0f) * 4
	if (ip[9] == 6 || ip[9] == 17) && ihl >= 20 && len(ip) >= ihl+4 && binary.BigEndian.Uint16(ip[6:])&0x1fff == 0 {
		mix(ip[ihl : ihl+4])
	}
	return h
}
