package filter

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/bpf"
)

const (
	// acceptLen is the value the program returns for a matching frame
	// (libpcap's default snapshot length).
	acceptLen = 262144
	// maxInstructions bounds the program size like the kernel's
	// BPF_MAXINSNS.
	maxInstructions = 4096
	// maxExprLen bounds the accepted expression length in bytes.
	maxExprLen = 1 << 16
)

// ErrUnsupported is wrapped by every *Error about a valid pcap-filter
// construct that this package does not implement; test with errors.Is.
var ErrUnsupported = errors.New("unsupported filter expression")

// Error is returned by Compile. Offset is the byte offset in the
// expression where the problem was found.
type Error struct {
	Offset      int    // byte offset into the expression
	Msg         string // description, without the position
	Unsupported bool   // the construct is valid pcap-filter syntax but not implemented
}

// Error formats the error as `filter: MSG at offset N`.
func (e *Error) Error() string {
	return fmt.Sprintf("filter: %s at offset %d", e.Msg, e.Offset)
}

// Unwrap returns ErrUnsupported for unsupported constructs, else nil.
func (e *Error) Unwrap() error {
	if e.Unsupported {
		return ErrUnsupported
	}
	return nil
}

func syntaxErr(pos int, format string, args ...any) *Error {
	return &Error{Offset: pos, Msg: fmt.Sprintf(format, args...)}
}

func unsupportedErr(pos int, format string, args ...any) *Error {
	return &Error{Offset: pos, Msg: fmt.Sprintf(format, args...), Unsupported: true}
}

// Filter is a compiled capture filter. It is immutable and safe for
// concurrent use. A nil *Filter matches every frame.
type Filter struct {
	expr  string
	insns []bpf.Instruction
	raw   []bpf.RawInstruction
	vm    *bpf.VM // nil when the filter matches everything
}

// Compile parses a pcap-filter(7) expression over Ethernet frames and
// compiles it to classic BPF. An empty (or all-blank) expression
// matches every frame.
func Compile(expr string) (*Filter, error) {
	if len(expr) > maxExprLen {
		return nil, syntaxErr(maxExprLen, "expression longer than %d bytes", maxExprLen)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	root, err := parse(toks)
	if err != nil {
		return nil, err
	}
	f := &Filter{expr: expr}
	if root == nil {
		f.insns = []bpf.Instruction{bpf.RetConstant{Val: acceptLen}}
	} else {
		p, err := lower(root)
		if err != nil {
			return nil, err
		}
		if f.insns, err = codegen(p); err != nil {
			return nil, &Error{Offset: 0, Msg: err.Error()}
		}
	}
	if f.raw, err = bpf.Assemble(f.insns); err != nil {
		return nil, fmt.Errorf("filter: assembling %q: %w", expr, err)
	}
	if root != nil {
		if f.vm, err = bpf.NewVM(f.insns); err != nil {
			return nil, fmt.Errorf("filter: loading %q: %w", expr, err)
		}
	}
	return f, nil
}

// Match reports whether the Ethernet frame passes the filter. It does
// not allocate. Loads beyond the end of a truncated frame reject it, as
// in the kernel.
func (f *Filter) Match(frame []byte) bool {
	if f == nil || f.vm == nil {
		return true
	}
	n, err := f.vm.Run(frame)
	return err == nil && n > 0
}

// String returns the expression the filter was compiled from.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.expr
}

// Instructions returns a copy of the compiled program.
func (f *Filter) Instructions() []bpf.Instruction {
	if f == nil {
		return []bpf.Instruction{bpf.RetConstant{Val: acceptLen}}
	}
	return append([]bpf.Instruction(nil), f.insns...)
}

// RawInstructions returns a copy of the assembled program, suitable for
// a kernel socket filter (SO_ATTACH_FILTER).
func (f *Filter) RawInstructions() []bpf.RawInstruction {
	if f == nil {
		return []bpf.RawInstruction{{Op: 0x06, K: acceptLen}}
	}
	return append([]bpf.RawInstruction(nil), f.raw...)
}

// Dump renders the program in the format of `tcpdump -d`, one
// instruction per line with absolute jump targets.
func (f *Filter) Dump() string {
	var b strings.Builder
	for pc, ins := range f.Instructions() {
		fmt.Fprintf(&b, "(%03d) %s\n", pc, formatInsn(pc, ins))
	}
	return b.String()
}

// formatInsn renders one instruction like libpcap's bpf_image.
func formatInsn(pc int, ins bpf.Instruction) string {
	sizes := map[int]string{1: "ldb", 2: "ldh", 4: "ld"}
	switch in := ins.(type) {
	case bpf.LoadAbsolute:
		return fmt.Sprintf("%-8s [%d]", sizes[in.Size], in.Off)
	case bpf.LoadIndirect:
		return fmt.Sprintf("%-8s [x + %d]", sizes[in.Size], in.Off)
	case bpf.LoadMemShift:
		return fmt.Sprintf("%-8s 4*([%d]&0xf)", "ldxb", in.Off)
	case bpf.ALUOpConstant:
		if in.Op == bpf.ALUOpAnd {
			return fmt.Sprintf("%-8s #0x%x", "and", in.Val)
		}
	case bpf.Jump:
		return fmt.Sprintf("%-8s %d", "ja", pc+1+int(in.Skip))
	case bpf.JumpIf:
		names := map[bpf.JumpTest]string{bpf.JumpEqual: "jeq", bpf.JumpGreaterThan: "jgt",
			bpf.JumpGreaterOrEqual: "jge", bpf.JumpBitsSet: "jset"}
		if name, ok := names[in.Cond]; ok {
			return fmt.Sprintf("%-8s %-16s jt %d\tjf %d", name, fmt.Sprintf("#0x%x", in.Val),
				pc+1+int(in.SkipTrue), pc+1+int(in.SkipFalse))
		}
	case bpf.RetConstant:
		return fmt.Sprintf("%-8s #%d", "ret", in.Val)
	}
	return fmt.Sprint(ins)
}
