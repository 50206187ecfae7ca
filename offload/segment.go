package offload

import (
	"encoding/binary"
	"fmt"
)

// Protocol constants used to parse super-frames.
const (
	ethHdrLen    = 14
	vlanTagLen   = 4
	etherTypeIP4 = 0x0800
	etherTypeIP6 = 0x86dd
	etherTypeVLN = 0x8100
	ipv4MinLen   = 20
	ipv6HdrLen   = 40
	tcpMinLen    = 20
	protoTCP     = 6
)

// TCP flag bits in byte 13 of the TCP header.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// layout describes where the headers of a TCP super-frame are and how it
// is cut. Offsets are from the start of the Ethernet header.
type layout struct {
	l3, l4, pay int  // start of the IP header, TCP header, TCP payload
	end         int  // end of the IP packet (frame bytes after it are padding)
	v6          bool // IPv6 rather than IPv4
	mss         int  // payload bytes per segment
	n           int  // number of segments
}

// parse validates a TCP super-frame and computes its layout from the
// packet headers alone; h supplies only the GSO type and segment size.
func parse(h *Hdr, frame []byte, mtu int) (layout, error) {
	var l layout
	switch h.GSOType &^ GSOECN {
	case GSOTCPv4, GSOTCPv6:
	default:
		return l, fmt.Errorf("%w: unsupported GSO type %#x", ErrUnsupported, h.GSOType)
	}
	if h.GSOSize == 0 {
		return l, fmt.Errorf("%w: GSO size 0", ErrMalformed)
	}
	if len(frame) < ethHdrLen {
		return l, fmt.Errorf("%w: frame of %d bytes shorter than an Ethernet header", ErrMalformed, len(frame))
	}
	l.l3 = ethHdrLen
	etype := binary.BigEndian.Uint16(frame[12:])
	if etype == etherTypeVLN {
		if len(frame) < ethHdrLen+vlanTagLen {
			return l, fmt.Errorf("%w: frame of %d bytes too short for a VLAN tag", ErrMalformed, len(frame))
		}
		l.l3 += vlanTagLen
		etype = binary.BigEndian.Uint16(frame[16:])
	}
	ip := frame[l.l3:]
	switch etype {
	case etherTypeIP4:
		if h.GSOType&^GSOECN != GSOTCPv4 {
			return l, fmt.Errorf("%w: IPv4 packet with GSO type %#x", ErrMalformed, h.GSOType)
		}
		if len(ip) < ipv4MinLen || ip[0]>>4 != 4 {
			return l, fmt.Errorf("%w: %d bytes left for the IPv4 header, version %d",
				ErrMalformed, len(ip), ipVersion(ip))
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ihl < ipv4MinLen || total < ihl || total > len(ip) {
			return l, fmt.Errorf("%w: IPv4 header length %d, total length %d, %d bytes available",
				ErrMalformed, ihl, total, len(ip))
		}
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return l, fmt.Errorf("%w: IPv4 fragment cannot be segmented", ErrMalformed)
		}
		if ip[9] != protoTCP {
			return l, fmt.Errorf("%w: IPv4 protocol %d, want TCP", ErrUnsupported, ip[9])
		}
		l.l4 = l.l3 + ihl
		l.end = l.l3 + total
	case etherTypeIP6:
		if h.GSOType&^GSOECN != GSOTCPv6 {
			return l, fmt.Errorf("%w: IPv6 packet with GSO type %#x", ErrMalformed, h.GSOType)
		}
		if len(ip) < ipv6HdrLen || ip[0]>>4 != 6 {
			return l, fmt.Errorf("%w: %d bytes left for the IPv6 header, version %d",
				ErrMalformed, len(ip), ipVersion(ip))
		}
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		if plen > len(ip)-ipv6HdrLen {
			return l, fmt.Errorf("%w: IPv6 payload length %d, %d bytes available",
				ErrMalformed, plen, len(ip)-ipv6HdrLen)
		}
		if ip[6] != protoTCP {
			return l, fmt.Errorf("%w: IPv6 next header %d, want TCP (no extension headers)",
				ErrUnsupported, ip[6])
		}
		l.v6 = true
		l.l4 = l.l3 + ipv6HdrLen
		l.end = l.l4 + plen
	default:
		return l, fmt.Errorf("%w: EtherType %#04x, want IPv4 or IPv6", ErrUnsupported, etype)
	}
	if l.end-l.l4 < tcpMinLen {
		return l, fmt.Errorf("%w: %d bytes left for the TCP header", ErrMalformed, l.end-l.l4)
	}
	doff := int(frame[l.l4+12]>>4) * 4
	if doff < tcpMinLen || doff > l.end-l.l4 {
		return l, fmt.Errorf("%w: TCP data offset %d with %d bytes left", ErrMalformed, doff, l.end-l.l4)
	}
	l.pay = l.l4 + doff
	l.mss = int(h.GSOSize)
	if room := mtu - (l.pay - l.l3); room < l.mss {
		if room <= 0 {
			return l, fmt.Errorf("%w: MTU %d leaves no room for payload after %d bytes of IP and TCP headers",
				ErrMalformed, mtu, l.pay-l.l3)
		}
		l.mss = room
	}
	l.n = (l.end - l.pay + l.mss - 1) / l.mss
	if l.n == 0 {
		l.n = 1 // headers only: one frame
	}
	return l, nil
}

// ipVersion returns the version field of an IP header, or -1 if ip is
// empty.
func ipVersion(ip []byte) int {
	if len(ip) == 0 {
		return -1
	}
	return int(ip[0] >> 4)
}

// SegmentCount returns the number of frames Segment would produce for the
// super-frame described by h, or 0 if Segment would reject it. It reads
// only the headers and does not allocate. Every segment is at most
// mtu+18 bytes long (IP packet plus Ethernet header and one VLAN tag).
func SegmentCount(h *Hdr, frame []byte, mtu int) int {
	l, err := parse(h, frame, mtu)
	if err != nil {
		return 0
	}
	return l.n
}

// Segment splits the TCPv4 or TCPv6 super-frame described by h (GSOType
// GSOTCPv4 or GSOTCPv6, optionally with GSOECN; segment size GSOSize) into
// complete Ethernet frames, written to out[0:n] with their lengths in
// sizes[0:n]. It parses the Ethernet (with at most one 802.1Q tag), IP and
// TCP headers itself; h.HdrLen, CsumStart and CsumOffset are ignored.
//
// Each segment carries a copy of the headers with the IPv4 total length,
// identification (incremented per segment) and header checksum, or the
// IPv6 payload length, updated; the TCP sequence number advanced; FIN and
// PSH kept only on the last segment and CWR only on the first; and a
// complete TCP checksum. Segments carry GSOSize bytes of payload, less if
// the IP packet would then exceed mtu; the result needs no virtio-net
// header (a zero Hdr). A frame no longer than one segment yields a single
// frame. h and frame are not modified; out must not overlap frame.
//
// Errors wrap ErrUnsupported (GSO type other than TCP, non-TCP packets,
// IPv6 extension headers), ErrMalformed (headers inconsistent with the
// frame, mtu too small) or ErrShortBuffer (fewer than SegmentCount
// buffers or sizes, or a buffer too short); nothing is written to out in
// those cases. Segment does not allocate unless it returns an error.
func Segment(h *Hdr, frame []byte, mtu int, out [][]byte, sizes []int) (n int, err error) {
	l, err := parse(h, frame, mtu)
	if err != nil {
		return 0, err
	}
	if len(out) < l.n || len(sizes) < l.n {
		return 0, fmt.Errorf("%w: %d segments, %d buffers and %d sizes given",
			ErrShortBuffer, l.n, len(out), len(sizes))
	}
	payLen := l.end - l.pay
	for i := 0; i < l.n; i++ {
		need := l.pay + min(l.mss, payLen-i*l.mss)
		if len(out[i]) < need {
			return 0, fmt.Errorf("%w: segment %d needs %d bytes, buffer has %d",
				ErrShortBuffer, i, need, len(out[i]))
		}
	}

	hdrs := frame[:l.pay]
	tcpLen := l.pay - l.l4
	seq := binary.BigEndian.Uint32(frame[l.l4+4:])
	flags := frame[l.l4+13]
	var id uint16
	if !l.v6 {
		id = binary.BigEndian.Uint16(frame[l.l3+4:])
	}
	// The pseudo-header sum without the TCP length, which varies; folded
	// so that adding the length cannot overflow.
	addrs := frame[l.l3+12 : l.l3+20]
	if l.v6 {
		addrs = frame[l.l3+8 : l.l4]
	}
	pseudo := uint64(fold(sum(addrs, protoTCP)))

	for i := 0; i < l.n; i++ {
		off := l.pay + i*l.mss
		segPay := min(l.mss, l.end-off)
		seg := out[i][:l.pay+segPay]
		copy(seg, hdrs)
		copy(seg[l.pay:], frame[off:off+segPay])

		ip := seg[l.l3:l.l4]
		if l.v6 {
			binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen+segPay))
		} else {
			binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+tcpLen+segPay))
			binary.BigEndian.PutUint16(ip[4:], id+uint16(i))
			ip[10], ip[11] = 0, 0
			binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
		}

		tcp := seg[l.l4:]
		binary.BigEndian.PutUint32(tcp[4:], seq+uint32(i*l.mss))
		f := flags
		if i != l.n-1 {
			f &^= tcpFIN | tcpPSH
		}
		if i != 0 {
			f &^= tcpCWR
		}
		tcp[13] = f
		tcp[16], tcp[17] = 0, 0
		c := ^fold(sum(tcp, pseudo+uint64(len(tcp))))
		binary.BigEndian.PutUint16(tcp[16:], c)
		sizes[i] = len(seg)
	}
	return l.n, nil
}

// SegmentSize returns the number of frames Segment would produce for the
// super-frame described by h and the length of each of them but the last
// (which may be shorter), or 0, 0 if Segment would reject it. Senders that
// pack the segments back to back (UDP GSO) use it to place them.
func SegmentSize(h *Hdr, frame []byte, mtu int) (n, size int) {
	l, err := parse(h, frame, mtu)
	if err != nil {
		return 0, 0
	}
	return l.n, l.pay + min(l.mss, l.end-l.pay)
}
