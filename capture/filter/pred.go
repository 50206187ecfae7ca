package filter

import "golang.org/x/net/bpf"

// load describes the value a comparison reads into register A.
type load struct {
	off   uint32 // packet offset (added to X when ind)
	size  uint8  // 1, 2 or 4 bytes
	ind   bool   // indexed by the IPv4 header length: X = 4*(pkt[ipOff]&0xf)
	ipOff uint32 // offset of the IPv4 header when ind
	mask  uint32 // AND mask applied after the load when masked
	// masked reports whether mask applies.
	masked bool
}

// predOp is the operator of a predicate node.
type predOp uint8

const (
	opCmp predOp = iota // A <cond> val after loading ld
	opAnd
	opOr
	opNot
	opIf // if a then b else c
)

// pred is a boolean predicate over a frame, the intermediate form
// between the expression tree and BPF.
type pred struct {
	op      predOp
	a, b, c *pred
	ld      load
	cond    bpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	val     uint32
}

func ldAbs(off uint32, size uint8) load { return load{off: off, size: size} }

// cmpEq is "ld == val".
func cmpEq(ld load, val uint32) *pred { return &pred{op: opCmp, ld: ld, cond: bpf.JumpEqual, val: val} }

// cmpOp is "ld <cond> val".
func cmpOp(ld load, cond bpf.JumpTest, val uint32) *pred {
	return &pred{op: opCmp, ld: ld, cond: cond, val: val}
}

// cmpMasked is "(ld & mask) == val", omitting the AND for a full mask.
func cmpMasked(ld load, mask, val uint32, full uint32) *pred {
	if mask != full {
		ld.mask, ld.masked = mask, true
	}
	return cmpEq(ld, val&mask)
}

func pAnd(ps ...*pred) *pred { return fold(opAnd, ps) }
func pOr(ps ...*pred) *pred  { return fold(opOr, ps) }

// fold combines ps right-associatively, which lets codegen short-cut
// each operand directly to the final target.
func fold(op predOp, ps []*pred) *pred {
	p := ps[len(ps)-1]
	for i := len(ps) - 2; i >= 0; i-- {
		p = &pred{op: op, a: ps[i], b: p}
	}
	return p
}

func pNot(p *pred) *pred { return &pred{op: opNot, a: p} }

// pIf is "if cond then a else b".
func pIf(cond, a, b *pred) *pred { return &pred{op: opIf, a: cond, b: a, c: b} }
