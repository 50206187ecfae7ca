package filter

import (
	"encoding/binary"
	"strings"

	"golang.org/x/net/bpf"
)

// EtherTypes and IP protocol numbers used by the primitives.
const (
	etherIP       = 0x0800
	etherARP      = 0x0806
	etherRARP     = 0x8035
	etherIP6      = 0x86dd
	ipprotoICMP   = 1
	ipprotoTCP    = 6
	ipprotoUDP    = 17
	ipprotoFrag   = 44 // IPv6 fragment header
	ipprotoICMPv6 = 58
	ipprotoSCTP   = 132
)

// layout holds the offsets of the EtherType and of the link-layer
// payload, which every "vlan" before a primitive shifts by 4 bytes.
type layout struct{ lt, pl uint32 }

// lower translates an expression tree into a predicate.
func lower(n node) (*pred, error) {
	switch n := n.(type) {
	case *binNode:
		l, err := lower(n.l)
		if err != nil {
			return nil, err
		}
		r, err := lower(n.r)
		if err != nil {
			return nil, err
		}
		if n.and {
			return pAnd(l, r), nil
		}
		return pOr(l, r), nil
	case *notNode:
		x, err := lower(n.x)
		if err != nil {
			return nil, err
		}
		return pNot(x), nil
	}
	return lowerPrim(n.(*primNode))
}

// lowerPrim translates one primitive.
func lowerPrim(n *primNode) (*pred, error) {
	d := uint32(4 * n.vlan)
	L := layout{lt: 12 + d, pl: 14 + d}
	switch n.kind {
	case primProto:
		return L.proto(n)
	case primVlan:
		tpid := pOr(L.ether(0x8100), L.ether(0x88a8), L.ether(0x9100))
		if n.vid < 0 {
			return tpid, nil
		}
		return pAnd(tpid, cmpMasked(ldAbs(L.pl, 2), 0x0fff, uint32(n.vid), 0xffff)), nil
	case primBroadcast:
		switch n.q.proto {
		case pDefault, pLink:
			return etherAddr(0, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), nil
		case pIP:
			return nil, unsupportedErr(n.pos, `unsupported primitive "ip broadcast" (needs the interface netmask)`)
		}
		return nil, syntaxErr(n.pos, "only link-layer/IP broadcast filters supported")
	case primMulticast:
		switch n.q.proto {
		case pDefault, pLink:
			return cmpOp(ldAbs(0, 1), bpf.JumpBitsSet, 1), nil
		case pIP:
			return pAnd(L.ether(etherIP), cmpOp(ldAbs(L.pl+16, 1), bpf.JumpGreaterOrEqual, 224)), nil
		case pIP6:
			return pAnd(L.ether(etherIP6), cmpEq(ldAbs(L.pl+24, 1), 255)), nil
		}
		return nil, syntaxErr(n.pos, "only link-layer/IP multicast filters supported")
	}
	switch n.q.addr {
	case aPort, aPortRange:
		return L.port(n)
	}
	return L.host(n)
}

// ether is "EtherType == t".
func (L layout) ether(t uint32) *pred { return cmpEq(ldAbs(L.lt, 2), t) }

// ip4Proto is "IPv4 protocol == v" (EtherType not checked).
func (L layout) ip4Proto(v uint32) *pred { return cmpEq(ldAbs(L.pl+9, 1), v) }

// ip6Proto is "IPv6 next header == v, possibly after a fragment
// header", as libpcap's protocol abbreviations check.
func (L layout) ip6Proto(v uint32) *pred {
	nh := ldAbs(L.pl+6, 1)
	return pOr(cmpEq(nh, v), pAnd(cmpEq(nh, ipprotoFrag), cmpEq(ldAbs(L.pl+40, 1), v)))
}

// proto translates a protocol name used alone ("tcp", "arp"...).
func (L layout) proto(n *primNode) (*pred, error) {
	var v uint32
	switch n.q.proto {
	case pIP:
		return L.ether(etherIP), nil
	case pIP6:
		return L.ether(etherIP6), nil
	case pARP:
		return L.ether(etherARP), nil
	case pRARP:
		return L.ether(etherRARP), nil
	case pICMP:
		return pAnd(L.ether(etherIP), L.ip4Proto(ipprotoICMP)), nil
	case pICMP6:
		return pAnd(L.ether(etherIP6), L.ip6Proto(ipprotoICMPv6)), nil
	case pTCP:
		v = ipprotoTCP
	case pUDP:
		v = ipprotoUDP
	case pSCTP:
		v = ipprotoSCTP
	default:
		return nil, syntaxErr(n.pos, "link layer applied in wrong context (use \"ether host\", \"ether src\" or \"ether dst\")")
	}
	return pIf(L.ether(etherIP6), L.ip6Proto(v), pAnd(L.ether(etherIP), L.ip4Proto(v))), nil
}

// dirPred combines the source and destination tests per the direction.
func dirPred(dir dirQual, src, dst *pred) *pred {
	switch dir {
	case dSrc:
		return src
	case dDst:
		return dst
	case dAnd:
		return pAnd(src, dst)
	}
	return pOr(src, dst)
}

// port translates "[tcp|udp|sctp] [dir] port|portrange ID". Like
// libpcap it matches IPv4 (first fragments only, transport header found
// via the IHL) and IPv6 (transport header right after the fixed
// header).
func (L layout) port(n *primNode) (*pred, error) {
	if n.hasMask {
		return nil, syntaxErr(n.maskPos, "a port cannot have a mask")
	}
	var protos []uint32
	switch n.q.proto {
	case pDefault:
		protos = []uint32{ipprotoTCP, ipprotoUDP, ipprotoSCTP}
	case pTCP:
		protos = []uint32{ipprotoTCP}
	case pUDP:
		protos = []uint32{ipprotoUDP}
	case pSCTP:
		protos = []uint32{ipprotoSCTP}
	default:
		kw := "port"
		if n.q.addr == aPortRange {
			kw = "portrange"
		}
		return nil, syntaxErr(n.pos, "illegal qualifier of '%s': '%s'", kw, n.q.proto)
	}
	var lo, hi uint32
	var err error
	if n.q.addr == aPort {
		if lo, err = parsePort(n.id, n.idPos); err != nil {
			if _, _, rerr := parsePortRange(n.id, n.idPos); rerr == nil {
				return nil, syntaxErr(n.idPos, "invalid port %q (use portrange for ranges)", n.id)
			}
			return nil, err
		}
		hi = lo
	} else if lo, hi, err = parsePortRange(n.id, n.idPos); err != nil {
		return nil, err
	}
	match := func(ld load) *pred {
		if lo == hi {
			return cmpEq(ld, lo)
		}
		return pAnd(cmpOp(ld, bpf.JumpGreaterOrEqual, lo), pNot(cmpOp(ld, bpf.JumpGreaterThan, hi)))
	}
	protoIn := func(ld load) *pred {
		ps := make([]*pred, len(protos))
		for i, v := range protos {
			ps[i] = cmpEq(ld, v)
		}
		return pOr(ps...)
	}
	ind := func(off uint32) load { return load{off: L.pl + off, size: 2, ind: true, ipOff: L.pl} }
	ip4 := pAnd(protoIn(ldAbs(L.pl+9, 1)),
		pNot(cmpOp(ldAbs(L.pl+6, 2), bpf.JumpBitsSet, 0x1fff)),
		dirPred(n.q.dir, match(ind(0)), match(ind(2))))
	ip6 := pAnd(protoIn(ldAbs(L.pl+6, 1)),
		dirPred(n.q.dir, match(ldAbs(L.pl+40, 2)), match(ldAbs(L.pl+42, 2))))
	return pIf(L.ether(etherIP), ip4, pAnd(L.ether(etherIP6), ip6)), nil
}

// etherAddr is "the MAC address at off == mac".
func etherAddr(off uint32, mac [6]byte) *pred {
	return pAnd(cmpEq(ldAbs(off+2, 4), binary.BigEndian.Uint32(mac[2:])),
		cmpEq(ldAbs(off, 2), uint32(binary.BigEndian.Uint16(mac[:2]))))
}

// host translates host and net primitives (MAC, IPv4 or IPv6).
func (L layout) host(n *primNode) (*pred, error) {
	if mac, ok := parseMAC(n.id); ok {
		if n.q.proto != pLink || n.q.addr != aDefault && n.q.addr != aHost {
			return nil, syntaxErr(n.idPos, "ethernet address %q used in non-ether expression", n.id)
		}
		if n.hasMask {
			return nil, syntaxErr(n.maskPos, "an ethernet address cannot have a mask")
		}
		return dirPred(n.q.dir, etherAddr(6, mac), etherAddr(0, mac)), nil
	}
	if n.q.proto == pLink {
		if isName(n.id) {
			return nil, unsupportedErr(n.idPos, "unsupported ethernet host name %q (name resolution is not supported)", n.id)
		}
		return nil, syntaxErr(n.idPos, "illegal link layer address %q", n.id)
	}
	if a, ok := parseIPv6(n.id); ok {
		return L.host6(n, a)
	}
	return L.host4(n)
}

// isName reports whether an id is a name (it contains a letter and is
// not an address).
func isName(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0 &&
		!strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X")
}

// typeWord names the type qualifier for error messages.
func typeWord(a addrQual) string {
	if a == aNet {
		return "net"
	}
	return "host"
}
