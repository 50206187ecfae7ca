package filter

import "encoding/binary"

// host4 translates an IPv4 host or net primitive with libpcap's rules:
// a plain number is a host ("host 10" is 0.0.0.10) or, for "net", a
// short network number ("net 10" is 10.0.0.0/8); a dotted address with
// fewer than four parts covers the parts given ("net 192.168" is
// 192.168.0.0/16); "A/len" and "A mask M" are for "net" only.
func (L layout) host4(n *primNode) (*pred, error) {
	var v uint32
	vlen := 32
	num := isNum(n.id)
	if num {
		var err error
		if v, err = parseNum(n.id, n.idPos); err != nil {
			return nil, err
		}
	} else {
		var ok bool
		var err error
		if v, vlen, ok, err = parseIPv4(n.id, n.idPos); err != nil {
			return nil, err
		} else if !ok {
			if isName(n.id) {
				return nil, unsupportedErr(n.idPos, "unsupported %s name %q (name resolution is not supported)", typeWord(n.q.addr), n.id)
			}
			return nil, syntaxErr(n.idPos, "invalid address %q", n.id)
		}
	}
	mask := ^uint32(0)
	switch {
	case n.hasMask:
		if n.q.addr != aNet {
			return nil, syntaxErr(n.maskPos, "mask syntax for networks only (use \"net\")")
		}
		if num {
			v = promoteNet(v)
		}
		var err error
		if mask, err = ipv4Mask(n); err != nil {
			return nil, err
		}
		if v&^mask != 0 {
			return nil, syntaxErr(n.idPos, "non-network bits set in %q", n.id+maskSuffix(n))
		}
	case num && n.q.addr == aNet:
		// Promote a short net number: "net 10" is 10.0.0.0/8.
		for v != 0 && v&0xff000000 == 0 {
			v <<= 8
			mask <<= 8
		}
	default:
		mask <<= 32 - vlen
	}
	op := func(src, dst uint32) *pred {
		return dirPred(n.q.dir, cmpMasked(ldAbs(L.pl+src, 4), mask, v, ^uint32(0)),
			cmpMasked(ldAbs(L.pl+dst, 4), mask, v, ^uint32(0)))
	}
	ip, arp := op(12, 16), op(14, 24)
	switch n.q.proto {
	case pDefault:
		// ARP and RARP share the layout, so one test serves both.
		return pIf(L.ether(etherIP), ip, pAnd(pOr(L.ether(etherARP), L.ether(etherRARP)), arp)), nil
	case pIP:
		return pAnd(L.ether(etherIP), ip), nil
	case pARP:
		return pAnd(L.ether(etherARP), arp), nil
	case pRARP:
		return pAnd(L.ether(etherRARP), arp), nil
	case pIP6:
		return nil, syntaxErr(n.pos, "'ip6' modifier applied to ip %s", typeWord(n.q.addr))
	}
	return nil, syntaxErr(n.pos, "'%s' modifier applied to %s", n.q.proto, typeWord(n.q.addr))
}

// promoteNet left-aligns a short network number (10 -> 10.0.0.0).
func promoteNet(v uint32) uint32 {
	for v != 0 && v&0xff000000 == 0 {
		v <<= 8
	}
	return v
}

// maskSuffix renders the "/len" or " mask M" part for messages.
func maskSuffix(n *primNode) string {
	if n.slash {
		return "/" + n.mask
	}
	return " mask " + n.mask
}

// ipv4Mask parses the prefix length or netmask of an IPv4 network.
func ipv4Mask(n *primNode) (uint32, error) {
	if n.slash {
		bits, err := parseNum(n.mask, n.maskPos)
		if err != nil {
			return 0, err
		}
		if bits > 32 {
			return 0, syntaxErr(n.maskPos, "mask length must be <= 32")
		}
		if bits == 0 {
			return 0, nil
		}
		return ^uint32(0) << (32 - bits), nil
	}
	m, _, ok, err := parseIPv4(n.mask, n.maskPos)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, syntaxErr(n.maskPos, "invalid netmask %q", n.mask)
	}
	return m, nil
}

// host6 translates an IPv6 host or net primitive.
func (L layout) host6(n *primNode, a [16]byte) (*pred, error) {
	bits := uint32(128)
	if n.hasMask {
		if !n.slash {
			return nil, syntaxErr(n.maskPos, "IPv6 networks need a prefix length (\"/len\"), not \"mask\"")
		}
		var err error
		if bits, err = parseNum(n.mask, n.maskPos); err != nil {
			return nil, err
		}
		if bits > 128 {
			return nil, syntaxErr(n.maskPos, "mask length must be <= 128")
		}
	}
	if bits != 128 && n.q.addr != aNet {
		return nil, syntaxErr(n.maskPos, "mask syntax for networks only (use \"net\")")
	}
	var mask [4]uint32
	for i := range mask {
		switch {
		case bits >= 32:
			mask[i], bits = ^uint32(0), bits-32
		case bits > 0:
			mask[i], bits = ^uint32(0)<<(32-bits), 0
		}
		if binary.BigEndian.Uint32(a[4*i:])&^mask[i] != 0 {
			return nil, syntaxErr(n.idPos, "non-network bits set in %q", n.id+maskSuffix(n))
		}
	}
	switch n.q.proto {
	case pDefault, pIP6:
	default:
		return nil, syntaxErr(n.pos, "'%s' modifier applied to ip6 %s", n.q.proto, typeWord(n.q.addr))
	}
	op := func(off uint32) *pred {
		var ps []*pred
		for i := uint32(0); i < 4; i++ {
			if mask[i] != 0 || i == 0 {
				ld := ldAbs(L.pl+off+4*i, 4)
				ps = append(ps, cmpMasked(ld, mask[i], binary.BigEndian.Uint32(a[4*i:]), ^uint32(0)))
			}
		}
		return pAnd(ps...)
	}
	return pAnd(L.ether(etherIP6), dirPred(n.q.dir, op(8), op(24))), nil
}
