package filter

import (
	"errors"
	"testing"
)

func FuzzCompile(f *testing.F) {
	for _, tc := range matchTests {
		f.Add(tc.expr)
	}
	for _, tc := range errorTests {
		if len(tc.expr) < 200 {
			f.Add(tc.expr)
		}
	}
	for _, s := range []string{"host (a or (b and not c))", "net ::/0", "src or dst port 1-2", "ether src 1.2.3.4.5.6",
		"vlan 0x10 and vlan 010", "port 0x", "net 1.2.3.4 mask 1.2", "portrange -5", "host 1:2:3:4:5:6:7:8/64"} {
		f.Add(s)
	}
	frames := [][]byte{nil, make([]byte, 14), make([]byte, 60)}
	for _, fr := range testFrames {
		frames = append(frames, build(f, fr.spec))
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Compile(%q) error %T %v is not an *Error", expr, err, err)
			}
			if fe.Offset < 0 || fe.Offset > len(expr) {
				t.Fatalf("Compile(%q): offset %d out of range", expr, fe.Offset)
			}
			return
		}
		if n := len(flt.Instructions()); n == 0 || n > maxInstructions {
			t.Fatalf("Compile(%q): %d instructions", expr, n)
		}
		if flt.String() != expr {
			t.Fatalf("String() = %q, want %q", flt.String(), expr)
		}
		again, err := Compile(expr)
		if err != nil || again.Dump() != flt.Dump() {
			t.Fatalf("Compile(%q) is not deterministic: %v", expr, err)
		}
		for _, fr := range frames {
			flt.Match(fr)
		}
	})
}

// fuzzFilters are the filters FuzzMatch runs over arbitrary frames.
var fuzzFilters = []string{
	"", "tcp", "udp", "icmp", "icmp6", "arp", "ip6", "vlan", "vlan and vlan and vlan",
	"host 10.0.0.1", "net 10.0.0.0/8", "port 53", "portrange 1-1024", "ip6 host ::1",
	"ether host 02:00:00:00:00:01", "multicast", "ip multicast", "vlan 100 and tcp port 80",
	"not (tcp or udp) and not arp", "host 10.0.0.1 or 10.0.0.2 and not port 22",
	"src net 2001:db8::/32 and dst portrange 1000-2000",
}

func FuzzMatch(f *testing.F) {
	compiled := make([]*Filter, len(fuzzFilters))
	for i, e := range fuzzFilters {
		compiled[i] = mustCompile(f, e)
	}
	for i, fr := range testFrames {
		f.Add(uint8(i), build(f, fr.spec))
	}
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, frame []byte) {
		flt := compiled[int(which)%len(compiled)]
		got := flt.Match(frame)
		if flt.String() == "" && !got {
			t.Fatal("the empty filter rejected a frame")
		}
		// Appending bytes never turns a match into a non-match for
		// these filters: every load that succeeded still succeeds.
		if got && !flt.Match(append(frame[:len(frame):len(frame)], 0, 0, 0, 0)) {
			t.Fatalf("%q: match lost after extending the frame", flt)
		}
	})
}
