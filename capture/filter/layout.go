package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// maxSkip is the longest conditional jump classic BPF can encode.
const maxSkip = 255

// assemble resolves the labels of a symbolic program. A conditional
// jump whose target is more than maxSkip instructions away jumps to a
// trampoline placed right after it: a copy of the target's return
// instruction if the target is one, else an unconditional jump. Adding
// trampolines only lengthens jumps, so marking them until nothing
// changes terminates.
func assemble(items []item, nlabels int) ([]bpf.Instruction, error) {
	pos := make([]int, nlabels)
	// retAt[l] is the return instruction at label l, if any.
	retAt := make([]bpf.Instruction, nlabels)
	for i, it := range items {
		if it.kind != itLabel {
			continue
		}
		for _, next := range items[i+1:] {
			if next.kind == itLabel {
				continue
			}
			if r, ok := next.ins.(bpf.RetConstant); ok && next.kind == itInsn {
				retAt[it.t] = r
			}
			break
		}
	}
	for changed := true; changed; {
		changed = false
		pc := 0
		for _, it := range items {
			switch it.kind {
			case itLabel:
				pos[it.t] = pc
			case itCond:
				pc += 1 + b2i(it.farT) + b2i(it.farF)
			default:
				pc++
			}
		}
		pc = 0
		for i := range items {
			it := &items[i]
			switch it.kind {
			case itLabel:
				continue
			case itCond:
				if !it.farT && pos[it.t]-pc-1 > maxSkip {
					it.farT, changed = true, true
				}
				if !it.farF && pos[it.f]-pc-1 > maxSkip {
					it.farF, changed = true, true
				}
				pc += 1 + b2i(it.farT) + b2i(it.farF)
			default:
				pc++
			}
		}
	}
	var prog []bpf.Instruction
	// far emits the trampoline for a distant target.
	far := func(l label) {
		if retAt[l] != nil {
			prog = append(prog, retAt[l])
			return
		}
		prog = append(prog, bpf.Jump{Skip: uint32(pos[l] - len(prog) - 1)})
	}
	for _, it := range items {
		pc := len(prog)
		switch it.kind {
		case itInsn:
			prog = append(prog, it.ins)
		case itCond:
			// Skips are relative to the next instruction; trampolines
			// for far targets sit right after the jump.
			jt, jf := pos[it.t]-pc-1, pos[it.f]-pc-1
			if it.farT {
				jt = 0
			}
			if it.farF {
				jf = b2i(it.farT)
			}
			if jt < 0 || jf < 0 || jt > maxSkip || jf > maxSkip {
				return nil, fmt.Errorf("internal error: jump out of range at %d", pc)
			}
			prog = append(prog, bpf.JumpIf{Cond: it.cond, Val: it.val, SkipTrue: uint8(jt), SkipFalse: uint8(jf)})
			if it.farT {
				far(it.t)
			}
			if it.farF {
				far(it.f)
			}
		}
	}
	return prog, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
