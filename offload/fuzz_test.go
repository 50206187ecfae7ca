package offload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fuzzBacking holds the output buffers of FuzzSegment; fuzz functions run
// one at a time per process, so it is reused across inputs.
var fuzzBacking = make([]byte, 1<<20)

// FuzzSegment feeds arbitrary frames and header fields to Segment. It must
// never panic, must agree with SegmentCount, and every result it accepts
// must be a correct segmentation (checked by checkSegments).
func FuzzSegment(f *testing.F) {
	for _, s := range []frameSpec{
		// Small seeds: the fuzzer's minimizer is slow on large inputs.
		{tcpOpts: true, payload: 300, mss: 100, fin: true, psh: true},
		{v6: true, vlan: true, payload: 150, mss: 50, cwr: true},
		{ipOpts: true, tcpOpts: true, payload: 10, mss: 1448},
		{v6: true, payload: 0, mss: 1},
	} {
		frame, h, _ := buildTCP(f, s)
		f.Add(frame, h.GSOType, h.GSOSize, h.HdrLen, uint16(1500), uint8(8), uint16(1518))
		f.Add(frame, h.GSOType, h.GSOSize, h.HdrLen, uint16(100), uint8(40), uint16(118))
		f.Add(frame, uint8(GSOUDP), h.GSOSize, h.HdrLen, uint16(1500), uint8(8), uint16(1518))
	}
	f.Fuzz(func(t *testing.T, frame []byte, gsoType uint8, gsoSize, hdrLen, mtu uint16, nbuf uint8, size uint16) {
		h := Hdr{Flags: FlagNeedsCsum, GSOType: gsoType, GSOSize: gsoSize, HdrLen: hdrLen,
			CsumStart: hdrLen, CsumOffset: 16}
		hOrig := h
		orig := append([]byte(nil), frame...)
		// Carve nbuf buffers of size bytes out of the backing array.
		if int(nbuf)*int(size) > len(fuzzBacking) {
			size = uint16(len(fuzzBacking) / int(nbuf))
		}
		out := make([][]byte, nbuf)
		for i := range out {
			out[i] = fuzzBacking[i*int(size) : (i+1)*int(size) : (i+1)*int(size)]
		}
		sizes := make([]int, nbuf)

		count := SegmentCount(&h, frame, int(mtu))
		n, err := Segment(&h, frame, int(mtu), out, sizes)
		if h != hOrig || !bytes.Equal(frame, orig) {
			t.Fatal("Segment modified its input")
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrShortBuffer) {
				t.Fatalf("error %v wraps none of the package's errors", err)
			}
			if (count != 0) != errors.Is(err, ErrShortBuffer) {
				t.Fatalf("SegmentCount = %d with error %v", count, err)
			}
			return
		}
		if n != count || n < 1 {
			t.Fatalf("Segment = %d, SegmentCount = %d", n, count)
		}
		segs := make([][]byte, n)
		for i := range segs {
			if sizes[i] > len(out[i]) || sizes[i] > int(mtu)+18 {
				t.Fatalf("segment %d: size %d, buffer %d, mtu %d", i, sizes[i], len(out[i]), mtu)
			}
			segs[i] = out[i][:sizes[i]]
		}
		checkSegments(t, frame, segs, int(mtu))
	})
}

// FuzzChecksum feeds arbitrary frames and offsets to Checksum. It must
// never panic, must write nothing but the checksum field, and the field it
// writes must make the packet verify against the pseudo-header sum that
// was stored there.
func FuzzChecksum(f *testing.F) {
	for _, udp := range []bool{false, true} {
		for _, v6 := range []bool{false, true} {
			frame, l4, off := buildL4(f, v6, true, udp, testPayload(99, 5))
			h := partial(frame, l4, off, v6, udp)
			f.Add(frame, h.Flags, h.CsumStart, h.CsumOffset)
		}
	}
	f.Add([]byte{}, uint8(FlagNeedsCsum), uint16(0), uint16(0))
	f.Add([]byte{1, 2, 3}, uint8(FlagNeedsCsum), uint16(1), uint16(0))
	f.Fuzz(func(t *testing.T, frame []byte, flags uint8, start, off uint16) {
		h := Hdr{Flags: flags, CsumStart: start, CsumOffset: off}
		orig := append([]byte(nil), frame...)
		err := Checksum(&h, frame)
		field := int(start) + int(off)
		if err != nil || flags&FlagNeedsCsum == 0 {
			if h.Flags != flags || !bytes.Equal(frame, orig) {
				t.Fatalf("header or frame changed (err %v)", err)
			}
			if err != nil && (!errors.Is(err, ErrMalformed) || field+2 <= len(frame)) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if h.Flags != flags&^FlagNeedsCsum {
			t.Fatalf("flags %#x, want %#x", h.Flags, flags&^FlagNeedsCsum)
		}
		if !bytes.Equal(frame[:field], orig[:field]) || !bytes.Equal(frame[field+2:], orig[field+2:]) {
			t.Fatal("bytes besides the checksum field changed")
		}
		if off%2 == 0 {
			// What a receiver checks: the pseudo-header sum plus the
			// packet with its checksum must fold to 0xffff.
			pseudo := binary.BigEndian.Uint16(orig[field:])
			if s := refSum(frame[start:], uint32(pseudo)); s != 0xffff {
				t.Fatalf("completed checksum does not verify: sum %#04x", s)
			}
		}
	})
}
