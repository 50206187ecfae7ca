package offload

import "encoding/binary"

// Coalescer merges consecutive TCP/IPv4 segments of one flow, each a
// complete Ethernet frame, into one super-frame with a virtio-net header
// asking for segmentation (the reverse of Segment: what GRO does), so a
// receiver writes one frame to an offload-capable port instead of many.
// It keeps no buffer of its own: Start and Append work on the caller's.
//
// Only plain IPv4 frames without IP options, fragmentation or padding, whose TCP
// segments carry nothing but ACK (PSH allowed on the last), with equal
// headers apart from length, ID, checksums and sequence number, are merged;
// anything else starts a new super-frame.
type Coalescer struct {
	n    int    // segments merged
	mss  int    // payload of the first segment
	last int    // payload of the last segment
	seq  uint32 // sequence number expected next
	hlen int    // Ethernet + IP + TCP header length
}

// Coalescing limits.
const (
	maxCoalesced = 64
	maxIPLen     = 65535
	ipv4Hdr      = ethHdrLen + ipv4MinLen
	tcpACK       = 0x10
)

// tcp4 returns the header length of a mergeable TCP/IPv4 frame and its
// payload length, or 0, 0.
func tcp4(f []byte) (hlen, pay int) {
	if len(f) < ipv4Hdr+tcpMinLen || binary.BigEndian.Uint16(f[12:]) != etherTypeIP4 || f[ethHdrLen] != 0x45 ||
		f[ethHdrLen+9] != protoTCP || binary.BigEndian.Uint16(f[ethHdrLen+6:])&0x3fff != 0 {
		return 0, 0
	}
	total := int(binary.BigEndian.Uint16(f[ethHdrLen+2:]))
	doff := int(f[ipv4Hdr+12]>>4) * 4
	if total+ethHdrLen != len(f) || doff < tcpMinLen || ipv4MinLen+doff > total {
		return 0, 0
	}
	if fl := f[ipv4Hdr+13]; fl&^tcpPSH != tcpACK {
		return 0, 0
	}
	return ipv4Hdr + doff, total - ipv4MinLen - doff
}

// Start begins a super-frame with frame f (its first segment) and reports
// whether f can take more segments; the super-frame is f itself.
func (c *Coalescer) Start(f []byte) bool {
	c.n = 0
	hlen, pay := tcp4(f)
	if hlen == 0 || pay == 0 || f[ipv4Hdr+13]&tcpPSH != 0 {
		return false
	}
	c.n, c.mss, c.last, c.hlen = 1, pay, pay, hlen
	c.seq = binary.BigEndian.Uint32(f[ipv4Hdr+4:]) + uint32(pay)
	return true
}

// Append adds segment seg to the super-frame sf (whose buffer must have
// room: cap(sf) is checked) when it continues it, and returns the longer
// super-frame and true; otherwise sf unchanged and false.
func (c *Coalescer) Append(sf, seg []byte) ([]byte, bool) {
	if c.n == 0 || c.n == maxCoalesced || c.last != c.mss || sf[ipv4Hdr+13]&tcpPSH != 0 {
		return sf, false
	}
	hlen, pay := tcp4(seg)
	if hlen != c.hlen || pay == 0 || pay > c.mss || len(sf)+pay-ethHdrLen > maxIPLen || len(sf)+pay > cap(sf) ||
		binary.BigEndian.Uint32(seg[ipv4Hdr+4:]) != c.seq || !sameHeaders(sf, seg, hlen) {
		return sf, false
	}
	sf = append(sf, seg[hlen:hlen+pay]...)
	sf[ipv4Hdr+13] |= seg[ipv4Hdr+13] & tcpPSH
	binary.BigEndian.PutUint16(sf[ethHdrLen+2:], uint16(len(sf)-ethHdrLen))
	c.n++
	c.last = pay
	c.seq += uint32(pay)
	return sf, true
}

// sameHeaders compares what must be equal in two segments of one flow:
// Ethernet header, IP TOS/TTL/protocol/addresses, TCP ports, ACK number,
// data offset, window and options.
func sameHeaders(a, b []byte, hlen int) bool {
	const ip, tcp = ethHdrLen, ipv4Hdr
	return string(a[:ip+2]) == string(b[:ip+2]) && string(a[ip+8:ip+10]) == string(b[ip+8:ip+10]) &&
		string(a[ip+12:ip+20]) == string(b[ip+12:ip+20]) && string(a[tcp:tcp+4]) == string(b[tcp:tcp+4]) &&
		string(a[tcp+8:tcp+13]) == string(b[tcp+8:tcp+13]) && string(a[tcp+14:tcp+16]) == string(b[tcp+14:tcp+16]) &&
		string(a[tcp+20:hlen]) == string(b[tcp+20:hlen])
}

// Finish completes the super-frame sf and returns its virtio-net header:
// a single segment is left as it came (zero header); several get a new IP
// checksum, the TCP pseudo-header sum in the checksum field and a header
// asking for TSO4 segmentation at the first segment's payload size.
func (c *Coalescer) Finish(sf []byte) Hdr {
	n := c.n
	c.n = 0
	if n < 2 {
		return Hdr{}
	}
	ip := sf[ethHdrLen:ipv4Hdr]
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
	tcpLen := len(sf) - ipv4Hdr
	binary.BigEndian.PutUint16(sf[ipv4Hdr+16:], fold(sum(ip[12:20], uint64(protoTCP)+uint64(tcpLen))))
	return Hdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: uint16(c.hlen), GSOSize: uint16(c.mss),
		CsumStart: ipv4Hdr, CsumOffset: 16}
}
