package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPool6AllocateLowestAndReuse(t *testing.T) {
	p, err := New6(netip.MustParsePrefix("fd00:1::/125"), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if g := p.Gateway(); g != netip.MustParseAddr("fd00:1::1") {
		t.Fatalf("default gateway %s", g)
	}
	var got []string
	for {
		a, err := p.Allocate()
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	want := "fd00:1::2 fd00:1::3 fd00:1::4 fd00:1::5 fd00:1::6 fd00:1::7"
	if strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	p.Release(netip.MustParseAddr("fd00:1::5"))
	p.Release(netip.MustParseAddr("fd00:1::3"))
	p.Release(p.Gateway()) // stays reserved
	for _, w := range []string{"fd00:1::3", "fd00:1::5"} {
		if a, err := p.Allocate(); err != nil || a.String() != w {
			t.Fatalf("after release got %s (%v), want %s", a, err, w)
		}
	}
	if _, err := p.Allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("full pool: %v", err)
	}
}

func TestPool6Reserve(t *testing.T) {
	p, err := New6(netip.MustParsePrefix("fd00:2::/64"), netip.MustParseAddr("fd00:2::fffe"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr, err string
	}{
		{"fd00:2::10", ""},
		{"fd00:2::10", "already in use"}, // never twice
		{"fd00:2::fffe", "already in use"},
		{"fd00:2::", "anycast"},
		{"fd00:3::1", "outside"},
		{"10.0.0.1", "outside"},
		{"::ffff:10.0.0.1", "outside"},
	}
	for _, tc := range tests {
		err := p.Reserve(netip.MustParseAddr(tc.addr))
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Reserve(%s) = %v, want %q", tc.addr, err, tc.err)
		}
	}
	if !p.InUse(netip.MustParseAddr("fd00:2::10")) || p.InUse(netip.MustParseAddr("fd00:2::11")) {
		t.Error("InUse wrong")
	}
	if a, _ := p.Allocate(); a.String() != "fd00:2::1" {
		t.Errorf("lowest free is %s, want fd00:2::1 (gateway elsewhere)", a)
	}
}

func TestNew6Refuses(t *testing.T) {
	for _, s := range []string{"10.0.0.0/24", "fd00::1/64", "fd00::/8", "fd00::/127", "fe80::/64", "ff00::/64", "::/64", "::1/128"} {
		if _, err := New6(netip.MustParsePrefix(s), netip.Addr{}); err == nil {
			t.Errorf("New6(%s) accepted", s)
		}
	}
	if _, err := New6(netip.MustParsePrefix("fd00::/64"), netip.MustParseAddr("fd01::1")); err == nil {
		t.Error("gateway outside the subnet accepted")
	}
}

func TestRandomULAAndSLAAC(t *testing.T) {
	a, err := RandomULA()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomULA()
	if a.Bits() != 64 || a.Addr().As16()[0] != 0xfd || a != a.Masked() || a == b {
		t.Fatalf("RandomULA %s, %s", a, b)
	}
	got, ok := SLAAC(netip.MustParsePrefix("fd00:1:2:3::/64"), []byte{0x02, 0x42, 0xac, 0x11, 0x00, 0x02})
	if !ok || got.String() != "fd00:1:2:3:42:acff:fe11:2" {
		t.Fatalf("SLAAC = %s %v", got, ok)
	}
	if _, ok := SLAAC(netip.MustParsePrefix("fd00::/80"), []byte{2, 0, 0, 0, 0, 1}); ok {
		t.Fatal("SLAAC outside a /64")
	}
}
