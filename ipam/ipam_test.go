package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func TestAllocateLowestAndReuse(t *testing.T) {
	p, err := New(netip.MustParsePrefix("10.90.0.0/29"), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if g := p.Gateway(); g != netip.MustParseAddr("10.90.0.1") {
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
	want := []string{"10.90.0.2", "10.90.0.3", "10.90.0.4", "10.90.0.5", "10.90.0.6"}
	if len(got) != len(want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	p.Release(netip.MustParseAddr("10.90.0.4"))
	p.Release(netip.MustParseAddr("10.90.0.3"))
	if a, _ := p.Allocate(); a.String() != "10.90.0.3" {
		t.Fatalf("after release got %s, want the lowest released 10.90.0.3", a)
	}
}

func TestReserveAndBadInput(t *testing.T) {
	p, err := New(netip.MustParsePrefix("10.1.0.0/24"), netip.MustParseAddr("10.1.0.254"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		addr string
		ok   bool
	}{
		{"10.1.0.50", true},
		{"10.1.0.50", false},  // in use
		{"10.1.0.254", false}, // gateway
		{"10.1.0.0", false},   // network
		{"10.1.0.255", false}, // broadcast
		{"10.2.0.5", false},   // outside
		{"fd00::1", false},    // wrong family
	}
	for _, tc := range cases {
		err := p.Reserve(netip.MustParseAddr(tc.addr))
		if (err == nil) != tc.ok {
			t.Errorf("Reserve(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
	if a, _ := p.Allocate(); a.String() != "10.1.0.1" {
		t.Fatalf("first allocation %s, want 10.1.0.1 (gateway is .254)", a)
	}
	p.Release(netip.MustParseAddr("10.1.0.254"))
	if !p.InUse(netip.MustParseAddr("10.1.0.254")) {
		t.Fatal("releasing the gateway freed it")
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct{ subnet, gw string }{
		{"10.1.0.1/24", ""},           // host bits
		{"10.0.0.0/4", ""},            // too big
		{"10.1.0.0/31", ""},           // too small
		{"fd00::/64", ""},             // IPv6
		{"10.1.0.0/24", "10.2.0.1"},   // gateway outside
		{"10.1.0.0/24", "10.1.0.255"}, // gateway is broadcast
	} {
		gw := netip.Addr{}
		if tc.gw != "" {
			gw = netip.MustParseAddr(tc.gw)
		}
		if _, err := New(netip.MustParsePrefix(tc.subnet), gw); err == nil {
			t.Errorf("New(%s, %s) succeeded", tc.subnet, tc.gw)
		}
	}
}
