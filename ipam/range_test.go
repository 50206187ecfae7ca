package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseRange(t *testing.T) {
	subnet := netip.MustParsePrefix("10.5.0.0/24")
	cases := []struct {
		in, want string // want "" means an error
	}{
		{"10.5.0.128/25", "10.5.0.128-10.5.0.255"},
		{"10.5.0.100-10.5.0.199", "10.5.0.100-10.5.0.199"},
		{"10.5.0.7 - 10.5.0.7", "10.5.0.7-10.5.0.7"},
		{"10.5.0.129/25", ""},
		{"10.5.0.0/23", ""},
		{"10.6.0.0/26", ""},
		{"10.5.0.200-10.5.0.100", ""},
		{"10.5.0.1-10.5.1.1", ""},
		{"fd00::1-fd00::2", ""},
		{"garbage", ""},
		{"10.5.0.1-", ""},
	}
	for _, tc := range cases {
		r, err := ParseRange(tc.in, subnet)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseRange(%q) = %s, want an error", tc.in, r)
		case tc.want != "" && (err != nil || r.String() != tc.want):
			t.Errorf("ParseRange(%q) = %s, %v; want %s", tc.in, r, err, tc.want)
		}
	}
}

func TestDefaultRange(t *testing.T) {
	cases := []struct{ subnet, want string }{
		{"10.5.0.0/24", "10.5.0.192-10.5.0.254"},
		{"10.0.0.0/16", "10.0.192.0-10.0.255.254"},
		{"10.5.0.0/29", "10.5.0.6-10.5.0.6"},
		{"10.5.0.0/30", ""},
	}
	for _, tc := range cases {
		r := DefaultRange(netip.MustParsePrefix(tc.subnet))
		if got := r.String(); (tc.want == "" && r.First.IsValid()) || (tc.want != "" && got != tc.want) {
			t.Errorf("DefaultRange(%s) = %s, want %q", tc.subnet, got, tc.want)
		}
	}
}

// TestRangeAndExclude checks the split DHCP needs: the attach pool never
// hands out the range, the range pool nothing else, and neither releases
// the other's addresses.
func TestRangeAndExclude(t *testing.T) {
	subnet := netip.MustParsePrefix("10.5.0.0/29")
	r := Range{First: netip.MustParseAddr("10.5.0.5"), Last: netip.MustParseAddr("10.5.0.7")}
	attach, err := New(subnet, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	if err := attach.Exclude(r); err != nil {
		t.Fatal(err)
	}
	dyn, err := NewRange(subnet, attach.Gateway(), r)
	if err != nil {
		t.Fatal(err)
	}
	drain := func(p *Pool) []string {
		var out []string
		for {
			a, err := p.Allocate()
			if errors.Is(err, ErrFull) {
				return out
			}
			out = append(out, a.String())
		}
	}
	if got := drain(attach); len(got) != 3 || got[0] != "10.5.0.2" || got[2] != "10.5.0.4" {
		t.Fatalf("attach pool handed out %v, want .2-.4", got)
	}
	if got := drain(dyn); len(got) != 2 || got[0] != "10.5.0.5" || got[1] != "10.5.0.6" {
		t.Fatalf("range pool handed out %v, want .5-.6 (.7 is the broadcast)", got)
	}
	attach.Release(netip.MustParseAddr("10.5.0.5"))
	dyn.Release(netip.MustParseAddr("10.5.0.2"))
	if _, err := attach.Allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("attach pool got a range address back: %v", err)
	}
	if _, err := dyn.Allocate(); !errors.Is(err, ErrFull) {
		t.Fatalf("range pool got an attach address: %v", err)
	}
	if err := dyn.Reserve(netip.MustParseAddr("10.5.0.3")); err == nil {
		t.Fatal("range pool reserved an address outside its range")
	}
}

// FuzzParseRange feeds arbitrary range strings (from the API): no panic,
// and an accepted range lies ordered inside the subnet.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10.5.0.128/25", "10.5.0.1-10.5.0.9", "-", "10.5.0.1-", "/", "::/0", "10.5.0.0/33"} {
		f.Add(s)
	}
	subnet := netip.MustParsePrefix("10.5.0.0/24")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s, subnet)
		if err != nil {
			return
		}
		if !subnet.Contains(r.First) || !subnet.Contains(r.Last) || r.First.Compare(r.Last) > 0 {
			t.Fatalf("ParseRange(%q) = %s", s, r)
		}
	})
}
