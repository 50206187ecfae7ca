package vxlan

import "encoding/binary"

// clampMSS lowers the MSS option of an IPv4 TCP SYN in frame d to max and
// updates the TCP checksum incrementally (RFC 1624), so a connection across
// the tunnel never sends segments the overlay's MTU cannot carry, whatever
// MTU its ends were given (libnetwork#2661, docker/for-linux#594). Other
// frames are left alone; it reports whether it changed d.
func clampMSS(d []byte, max int) bool {
	if len(d) < ethHdrLen+20+20 || binary.BigEndian.Uint16(d[12:]) != 0x0800 {
		return false
	}
	ip := d[ethHdrLen:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ip[9] != 6 || ihl < 20 || binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 || len(ip) < ihl+20 {
		return false
	}
	tcp := ip[ihl:]
	doff := int(tcp[12]>>4) * 4
	if tcp[13]&0x02 == 0 || doff <= 20 || doff > len(tcp) {
		return false
	}
	for i := 20; i < doff; {
		switch kind := tcp[i]; {
		case kind == 0:
			return false
		case kind == 1:
			i++
			continue
		case i+1 >= doff || tcp[i+1] < 2:
			return false
		case kind == 2 && tcp[i+1] == 4 && i+4 <= doff:
			old := binary.BigEndian.Uint16(tcp[i+2:])
			if int(old) <= max {
				return false
			}
			binary.BigEndian.PutUint16(tcp[i+2:], uint16(max))
			fixChecksum(tcp[16:18], old, uint16(max), (i+2)&1 == 1)
			return true
		}
		i += int(tcp[i+1])
	}
	return false
}

// fixChecksum updates the checksum at c for a 16-bit value changed from
// old to new (RFC 1624 eqn. 3); odd says the value sits at an odd offset,
// so its bytes fall into two checksum words in swapped order.
func fixChecksum(c []byte, old, new uint16, odd bool) {
	if odd {
		old, new = old<<8|old>>8, new<<8|new>>8
	}
	s := uint32(^binary.BigEndian.Uint16(c)) + uint32(^old) + uint32(new)
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	binary.BigEndian.PutUint16(c, ^uint16(s))
}
