package offload

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// segmentsOf cuts a super-frame into segments with Segment.
func segmentsOf(t *testing.T, s frameSpec, mtu int) (orig []byte, h Hdr, segs [][]byte) {
	t.Helper()
	frame, h, _ := buildTCP(t, s)
	n, size := SegmentSize(&h, frame, mtu)
	out, sizes := makeBufs(n, mtu+18), make([]int, n)
	if _, err := Segment(&h, frame, mtu, out, sizes); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if i < n-1 && sizes[i] != size || sizes[i] > size {
			t.Fatalf("segment %d of %d bytes, SegmentSize said %d", i, sizes[i], size)
		}
		segs = append(segs, out[i][:sizes[i]])
	}
	return frame, h, segs
}

// coalesce merges segs, starting a new super-frame whenever Append refuses.
func coalesce(segs [][]byte) (sfs [][]byte, hs []Hdr) {
	var c Coalescer
	var sf []byte
	for _, s := range segs {
		if sf != nil {
			var ok bool
			if sf, ok = c.Append(sf, s); ok {
				continue
			}
			hs = append(hs, c.Finish(sf))
			sfs = append(sfs, sf)
		}
		sf = append(make([]byte, 0, 70000), s...)
		if !c.Start(sf) {
			hs = append(hs, Hdr{})
			sfs = append(sfs, sf)
			sf = nil
		}
	}
	if sf != nil {
		hs = append(hs, c.Finish(sf))
		sfs = append(sfs, sf)
	}
	return sfs, hs
}

func TestCoalesceUndoesSegment(t *testing.T) {
	for _, s := range []frameSpec{
		{tcpOpts: true, payload: 64000, mss: 1398, psh: true, id: 7},
		{payload: 5000, mss: 1410},
		{tcpOpts: true, payload: 3 * 1398, mss: 1398, seq: 0xffffff00},
	} {
		orig, h, segs := segmentsOf(t, s, 1450)
		sfs, hs := coalesce(segs)
		if len(sfs) != 1 {
			t.Fatalf("%+v: %d super-frames, want 1", s, len(sfs))
		}
		want := Hdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: h.HdrLen, GSOSize: h.GSOSize, CsumStart: 34, CsumOffset: 16}
		if hs[0] != want {
			t.Fatalf("%+v: header %+v, want %+v", s, hs[0], want)
		}
		if !bytes.Equal(sfs[0], orig) {
			t.Fatalf("%+v: merged frame differs from the original super-frame", s)
		}
	}
}

func TestCoalesceRefuses(t *testing.T) {
	mod := func(f func(segs [][]byte)) [][]byte {
		_, _, segs := segmentsOf(t, frameSpec{tcpOpts: true, payload: 4 * 1398, mss: 1398}, 1450)
		f(segs)
		return segs
	}
	tests := []struct {
		name string
		segs [][]byte
		want int
	}{
		{"gap", mod(func(s [][]byte) { binary.BigEndian.PutUint32(s[2][38:], 1) }), 3},
		{"other port", mod(func(s [][]byte) { s[1][35] ^= 1 }), 3},
		{"push ends", mod(func(s [][]byte) { s[1][47] |= tcpPSH }), 2},
		{"fin", mod(func(s [][]byte) { s[2][47] |= tcpFIN }), 3},
		{"not IPv4", mod(func(s [][]byte) { s[0][12] = 0x86 }), 2},
		{"short middle", mod(func(s [][]byte) {
			s[1] = s[1][:len(s[1])-10]
			binary.BigEndian.PutUint16(s[1][16:], uint16(len(s[1])-14))
		}), 2},
	}
	for _, tt := range tests {
		sfs, _ := coalesce(tt.segs)
		if len(sfs) != tt.want {
			t.Errorf("%s: %d super-frames, want %d", tt.name, len(sfs), tt.want)
		}
	}
}

// FuzzCoalesce feeds arbitrary segment pairs to the coalescer: it must
// never panic, and a super-frame it builds must segment back into the two
// segments' payloads.
func FuzzCoalesce(f *testing.F) {
	_, _, segs := segmentsOf(&testing.T{}, frameSpec{tcpOpts: true, payload: 600, mss: 300}, 1500)
	f.Add(segs[0], segs[1])
	f.Add(segs[0], segs[0])
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var c Coalescer
		sf := append(make([]byte, 0, len(a)+len(b)), a...)
		if !c.Start(sf) {
			return
		}
		sf, ok := c.Append(sf, b)
		h := c.Finish(sf)
		if !ok {
			return
		}
		n := SegmentCount(&h, sf, 65535)
		if n != 2 {
			t.Fatalf("merged frame segments into %d frames, want 2", n)
		}
	})
}
