package vswitch

import (
	"encoding/binary"
	"net/netip"
)

// EtherTypes and ICMPv6 types port security looks at.
const (
	etherARP  = 0x0806
	etherIPv6 = 0x86dd
	etherQinQ = 0x88a8
	ether9100 = 0x9100

	icmp6RA       = 134
	icmp6NS       = 135
	icmp6NA       = 136
	icmp6Redirect = 137

	ndOptSrcLL = 1
	ndOptTgtLL = 2
)

// admit applies port security to an untagged (classified) frame and
// reports whether it may be forwarded; drops are counted per reason. It
// reads only the immutable port state and the claims snapshot.
func (in *portState) admit(cl *claims, d []byte) bool {
	src := macU64(d[6:12])
	if in.sec.locked {
		if src != in.sec.mac {
			in.sc.srcMAC.Add(1)
			return false
		}
	} else if o := cl.macs[src]; o != nil && o != in {
		in.sc.macOwned.Add(1)
		return false
	}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case etherARP:
		if !in.admitARP(cl, d[14:]) {
			in.sc.arp.Add(1)
			return false
		}
	case etherIPv6:
		if !in.admitND(cl, d[14:]) {
			in.sc.nd.Add(1)
			return false
		}
	case tpid8021Q, etherQinQ, ether9100:
		if in.sec.locked {
			in.sc.tagged.Add(1)
			return false
		}
	}
	return true
}

// admitARP checks an ARP packet's sender fields: nobody may claim another
// port's address or MAC; a locked port may claim only its own (or
// 0.0.0.0, an RFC 5227 probe) with its own MAC. A locked port's malformed
// ARP is dropped; other ports' is left to the receivers.
func (in *portState) admitARP(cl *claims, p []byte) bool {
	if len(p) < 28 || binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 ||
		p[4] != 6 || p[5] != 4 {
		return !in.sec.locked
	}
	sha := macU64(p[8:14])
	spa := netip.AddrFrom4([4]byte(p[14:18]))
	if in.sec.locked {
		return sha == in.sec.mac && (spa.IsUnspecified() || in.sec.owns(spa))
	}
	if o := cl.macs[sha]; o != nil && o != in {
		return false
	}
	if o := cl.ownedBy(spa); o != nil && o != in {
		return false
	}
	return true
}

// admitND checks IPv6 neighbour discovery: no port may advertise another
// port's address or announce another port's MAC; a locked port announces
// only its own MAC and sends no router advertisements or redirects.
func (in *portState) admitND(cl *claims, p []byte) bool {
	typ, body, ok := icmp6(p)
	if !ok {
		return true
	}
	switch typ {
	case icmp6RA, icmp6Redirect:
		return !in.sec.locked
	case icmp6NS:
		if len(body) < 24 {
			return !in.sec.locked
		}
		return in.admitNDOptions(cl, body[24:], ndOptSrcLL)
	case icmp6NA:
		if len(body) < 24 {
			return !in.sec.locked
		}
		if o := cl.ownedBy(netip.AddrFrom16([16]byte(body[8:24]))); o != nil && o != in {
			return false
		}
		return in.admitNDOptions(cl, body[24:], ndOptTgtLL)
	}
	return true
}

// admitNDOptions checks the link-layer address option of type want.
func (in *portState) admitNDOptions(cl *claims, opts []byte, want byte) bool {
	for len(opts) >= 2 {
		l := int(opts[1]) * 8
		if l == 0 || l > len(opts) {
			return !in.sec.locked
		}
		if opts[0] == want && l >= 8 {
			mac := macU64(opts[2:8])
			if in.sec.locked && mac != in.sec.mac {
				return false
			}
			if o := cl.macs[mac]; o != nil && o != in {
				return false
			}
		}
		opts = opts[l:]
	}
	return true
}

// icmp6 finds the ICMPv6 message of an IPv6 packet, skipping hop-by-hop,
// routing and destination options headers; it returns the type and the
// message from its type byte on. Fragmented ND is invalid (RFC 6980), so
// a fragment header ends the search.
func icmp6(p []byte) (typ byte, msg []byte, ok bool) {
	if len(p) < 40 || p[0]>>4 != 6 {
		return 0, nil, false
	}
	nh, off := p[6], 40
	for range 4 {
		switch nh {
		case 58:
			if len(p) < off+4 {
				return 0, nil, false
			}
			return p[off], p[off:], true
		case 0, 43, 60:
			if len(p) < off+2 {
				return 0, nil, false
			}
			nh, off = p[off], off+(int(p[off+1])+1)*8
		default:
			return 0, nil, false
		}
	}
	return 0, nil, false
}
