package vxlan

import (
	"bytes"
	"errors"
	"testing"
)

func TestHeader(t *testing.T) {
	eth := make([]byte, ethHdrLen)
	cases := []struct {
		name string
		in   []byte
		vni  uint32
		err  error
	}{
		{"vni 42", append([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, eth...), 42, nil},
		{"max vni", append([]byte{0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0}, eth...), MaxVNI, nil},
		{"reserved bits ignored", append([]byte{0xff, 1, 2, 3, 0, 0x10, 0, 0xaa}, eth...), 4096, nil},
		{"no I flag", append([]byte{0x00, 0, 0, 0, 0, 0, 42, 0}, eth...), 0, ErrNoVNI},
		{"no inner header", []byte{0x08, 0, 0, 0, 0, 0, 42, 0}, 0, ErrShort},
		{"empty", nil, 0, ErrShort},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vni, err := ParseHeader(tc.in)
			if !errors.Is(err, tc.err) || vni != tc.vni {
				t.Fatalf("ParseHeader = %d, %v; want %d, %v", vni, err, tc.vni, tc.err)
			}
		})
	}
}

func TestPutHeaderMatchesKernelLayout(t *testing.T) {
	b := make([]byte, HeaderLen)
	PutHeader(b, 0x123456)
	want := []byte{0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("header % x, want % x", b, want)
	}
}

// FuzzParseHeader checks the decoder never panics on untrusted datagrams
// and that what it accepts re-encodes to the same VNI.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x08, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	f.Add([]byte{0x08})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		vni, err := ParseHeader(b)
		if err != nil {
			if vni != 0 {
				t.Fatalf("error %v with vni %d", err, vni)
			}
			return
		}
		if vni > MaxVNI || len(b) < HeaderLen+ethHdrLen {
			t.Fatalf("accepted vni %d from %d bytes", vni, len(b))
		}
		c := append([]byte(nil), b...)
		PutHeader(c, vni)
		if v2, err := ParseHeader(c); err != nil || v2 != vni {
			t.Fatalf("re-encoded header gives %d, %v; want %d", v2, err, vni)
		}
	})
}
