package filter

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

func TestAPI(t *testing.T) {
	const expr = "tcp port 80"
	f, err := Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	if f.String() != expr {
		t.Errorf("String() = %q, want %q", f.String(), expr)
	}
	insns := f.Instructions()
	raw := f.RawInstructions()
	if len(insns) == 0 || len(insns) != len(raw) {
		t.Fatalf("%d instructions, %d raw", len(insns), len(raw))
	}
	// The copies are independent of the filter.
	insns[0] = bpf.RetConstant{}
	if _, ok := f.Instructions()[0].(bpf.RetConstant); ok {
		t.Error("Instructions() exposes the filter's program")
	}
	// Raw instructions disassemble to the same program.
	back, ok := bpf.Disassemble(raw)
	if !ok || fmt.Sprint(back) != fmt.Sprint(f.Instructions()) {
		t.Errorf("Disassemble(raw) = %v, want %v", back, f.Instructions())
	}
	if d := f.Dump(); !strings.HasPrefix(d, "(000) ldh      [12]\n(001) jeq      #0x800") {
		t.Errorf("Dump() =\n%s", d)
	}
}

func TestEmptyAndNil(t *testing.T) {
	for _, f := range []*Filter{mustCompile(t, ""), mustCompile(t, " \t\n"), nil} {
		if !f.Match(nil) || !f.Match([]byte{1, 2, 3}) {
			t.Errorf("%q does not match everything", f.String())
		}
		if got := fmt.Sprint(f.Instructions()); got != "[ret #262144]" {
			t.Errorf("Instructions() = %s", got)
		}
		if got := f.RawInstructions(); len(got) != 1 || got[0] != (bpf.RawInstruction{Op: 0x06, K: 262144}) {
			t.Errorf("RawInstructions() = %v", got)
		}
		if got := f.Dump(); got != "(000) ret      #262144\n" {
			t.Errorf("Dump() = %q", got)
		}
	}
}

// TestTcpdumpOutput compares programs with the output of `tcpdump -d`
// (libpcap 1.10, optimizer on) where ours is identical.
func TestTcpdumpOutput(t *testing.T) {
	want := map[string]string{
		"tcp": `(000) ldh      [12]
(001) jeq      #0x86dd          jt 2	jf 7
(002) ldb      [20]
(003) jeq      #0x6             jt 10	jf 4
(004) jeq      #0x2c            jt 5	jf 11
(005) ldb      [54]
(006) jeq      #0x6             jt 10	jf 11
(007) jeq      #0x800           jt 8	jf 11
(008) ldb      [23]
(009) jeq      #0x6             jt 10	jf 11
(010) ret      #262144
(011) ret      #0
`,
		"host 1.2.3.4": `(000) ldh      [12]
(001) jeq      #0x800           jt 2	jf 6
(002) ld       [26]
(003) jeq      #0x1020304       jt 12	jf 4
(004) ld       [30]
(005) jeq      #0x1020304       jt 12	jf 13
(006) jeq      #0x806           jt 8	jf 7
(007) jeq      #0x8035          jt 8	jf 13
(008) ld       [28]
(009) jeq      #0x1020304       jt 12	jf 10
(010) ld       [38]
(011) jeq      #0x1020304       jt 12	jf 13
(012) ret      #262144
(013) ret      #0
`,
		"ip": `(000) ldh      [12]
(001) jeq      #0x800           jt 2	jf 3
(002) ret      #262144
(003) ret      #0
`,
	}
	for expr, w := range want {
		if got := mustCompile(t, expr).Dump(); got != w {
			t.Errorf("%q:\n%s\nwant\n%s", expr, got, w)
		}
	}
}

// TestLongJumps checks programs longer than an 8-bit jump can span:
// far targets are reached through trampolines (a copy of the target
// "ret", or an unconditional jump).
func TestLongJumps(t *testing.T) {
	var parts []string
	for i := 1; i <= 60; i++ {
		parts = append(parts, fmt.Sprintf("10.0.%d.%d", i, i))
	}
	hosts := "host " + strings.Join(parts, " or ")
	for _, tc := range []struct {
		expr   string
		port   uint16 // port that must match along with a listed host
		retsOK bool   // far jumps to "ret" become ret copies
	}{
		{hosts + " or port 80", 80, true},
		{"(" + hosts + ") and port 53", 53, false},
	} {
		f := mustCompile(t, tc.expr)
		var far, rets int
		for _, ins := range f.Instructions() {
			if j, ok := ins.(bpf.Jump); ok && j.Skip > 255 {
				far++
			}
			if _, ok := ins.(bpf.RetConstant); ok {
				rets++
			}
		}
		t.Logf("%d instructions, %d long jumps, %d returns", len(f.Instructions()), far, rets)
		if len(f.Instructions()) < 600 || rets <= 2 && far == 0 || !tc.retsOK && far == 0 {
			t.Errorf("%d instructions, %d long jumps, %d returns: no trampolines?", len(f.Instructions()), far, rets)
		}
		for i := 1; i <= 60; i++ {
			h := fmt.Sprintf("10.0.%d.%d", i, i)
			if !f.Match(build(t, frameSpec{kind: "ip4", src: h, dst: "1.1.1.1", proto: 17, sport: 1, dport: 53})) {
				t.Errorf("%.20q...: no match for %s", tc.expr, h)
			}
			if tc.retsOK && !f.Match(build(t, frameSpec{kind: "arp", src: "1.1.1.1", dst: h})) {
				t.Errorf("%.20q...: no match for ARP %s", tc.expr, h)
			}
		}
		for _, fs := range []frameSpec{
			{kind: "ip4", src: "10.0.1.2", dst: "1.1.1.1", proto: 17, sport: 1, dport: 2},
			{kind: "ip4", src: "10.0.5.5", dst: "1.1.1.1", proto: 17, sport: 1, dport: 2},
			{kind: "ip6", src: "::1", dst: "::2", proto: 17, sport: 1, dport: 2},
			{kind: "raw", etherType: 0x88b5},
		} {
			if f.Match(build(t, fs)) != (tc.retsOK && fs.src == "10.0.5.5") {
				t.Errorf("%.20q...: wrong result for %+v", tc.expr, fs)
			}
		}
		ip6 := build(t, frameSpec{kind: "ip6", src: "::1", dst: "::2", proto: 6, sport: 1, dport: tc.port})
		if f.Match(ip6) != tc.retsOK {
			t.Errorf("%.20q...: wrong result for IPv6 port %d", tc.expr, tc.port)
		}
	}
}

func mustCompile(tb testing.TB, expr string) *Filter {
	tb.Helper()
	f, err := Compile(expr)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestMatchDoesNotAllocate(t *testing.T) {
	frame := build(t, frameSpec{kind: "ip4", vlans: []uint16{100}, src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 80})
	for _, expr := range []string{"", "vlan 100 and tcp port 80 and host 10.0.0.1", "not (udp or icmp) and net 10.0.0.0/8", "ip6 host ::1"} {
		f := mustCompile(t, expr)
		if n := testing.AllocsPerRun(1000, func() { f.Match(frame) }); n != 0 {
			t.Errorf("%q: Match allocates %v times per run", expr, n)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	frame := build(b, frameSpec{kind: "ip4", src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1234, dport: 80})
	for _, expr := range []string{"", "tcp", "tcp port 80 and host 10.0.0.2", "vlan or host 192.168.0.1 or port 53"} {
		f := mustCompile(b, expr)
		b.Run(fmt.Sprintf("%q", expr), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f.Match(frame)
			}
		})
	}
}
