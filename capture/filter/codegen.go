package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// label names a forward jump target in the program being generated.
type label int

// itemKind distinguishes the entries of the symbolic program.
type itemKind uint8

const (
	itInsn  itemKind = iota // a fixed instruction
	itCond                  // conditional jump to labels t/f
	itLabel                 // definition of label t
)

// item is one entry of the symbolic program.
type item struct {
	kind       itemKind
	ins        bpf.Instruction
	cond       bpf.JumpTest
	val        uint32
	t, f       label
	farT, farF bool // the target is too far for an 8-bit skip: add a trampoline
}

// flow is what is known about the registers at a program point.
type flow struct {
	reach bool // some path reaches the point
	aOK   bool // A holds the value described by a
	a     load
	xOK   bool // X holds 4*IHL of the IPv4 header at xOff
	xOff  uint32
}

// meet merges the knowledge of two paths joining at one point.
func meet(p, q flow) flow {
	if !p.reach {
		return q
	}
	if !q.reach {
		return p
	}
	r := flow{reach: true}
	r.aOK, r.a = p.aOK && q.aOK && p.a == q.a, p.a
	r.xOK, r.xOff = p.xOK && q.xOK && p.xOff == q.xOff, p.xOff
	return r
}

// emitter generates "jumping code": each predicate is compiled with a
// true and a false target. All jumps go forward, so the register
// contents at a label are known from the jumps already emitted, which
// lets the emitter skip reloading a value that is already in A or X.
type emitter struct {
	items []item
	in    []flow // knowledge arriving at each label
	cur   flow
}

func (e *emitter) newLabel() label {
	e.in = append(e.in, flow{})
	return label(len(e.in) - 1)
}

func (e *emitter) place(l label) {
	e.items = append(e.items, item{kind: itLabel, t: l})
	e.cur = meet(e.cur, e.in[l])
}

func (e *emitter) insn(ins bpf.Instruction) { e.items = append(e.items, item{kind: itInsn, ins: ins}) }

// gen emits code that continues at t if p holds and at f otherwise.
func (e *emitter) gen(p *pred, t, f label) {
	switch p.op {
	case opNot:
		e.gen(p.a, f, t)
	case opAnd:
		m := e.newLabel()
		e.gen(p.a, m, f)
		e.place(m)
		e.gen(p.b, t, f)
	case opOr:
		m := e.newLabel()
		e.gen(p.a, t, m)
		e.place(m)
		e.gen(p.b, t, f)
	case opIf:
		mt, mf := e.newLabel(), e.newLabel()
		e.gen(p.a, mt, mf)
		e.place(mt)
		e.gen(p.b, t, f)
		e.place(mf)
		e.gen(p.c, t, f)
	case opCmp:
		e.load(p.ld)
		e.items = append(e.items, item{kind: itCond, cond: p.cond, val: p.val, t: t, f: f})
		e.in[t] = meet(e.in[t], e.cur)
		e.in[f] = meet(e.in[f], e.cur)
		e.cur = flow{}
	}
}

// load puts the value described by ld into A unless it is known to be
// there already.
func (e *emitter) load(ld load) {
	if e.cur.aOK && e.cur.a == ld {
		return
	}
	size := int(ld.size)
	if ld.ind {
		if !e.cur.xOK || e.cur.xOff != ld.ipOff {
			e.insn(bpf.LoadMemShift{Off: ld.ipOff})
			e.cur.xOK, e.cur.xOff = true, ld.ipOff
		}
		e.insn(bpf.LoadIndirect{Off: ld.off, Size: size})
	} else {
		e.insn(bpf.LoadAbsolute{Off: ld.off, Size: size})
	}
	if ld.masked {
		e.insn(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: ld.mask})
	}
	e.cur.aOK, e.cur.a = true, ld
}

// codegen compiles a predicate into a BPF program that returns
// acceptLen for matching frames and 0 otherwise.
func codegen(p *pred) ([]bpf.Instruction, error) {
	e := &emitter{cur: flow{reach: true}}
	accept, reject := e.newLabel(), e.newLabel()
	e.gen(p, accept, reject)
	e.place(accept)
	e.insn(bpf.RetConstant{Val: acceptLen})
	e.cur = flow{}
	e.place(reject)
	e.insn(bpf.RetConstant{Val: 0})
	prog, err := assemble(e.items, len(e.in))
	if err != nil {
		return nil, err
	}
	if len(prog) > maxInstructions {
		return nil, fmt.Errorf("expression too complex: %d instructions, limit %d", len(prog), maxInstructions)
	}
	return prog, nil
}
