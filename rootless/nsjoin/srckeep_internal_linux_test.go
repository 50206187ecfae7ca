package nsjoin

import (
	"net/netip"
	"testing"
)

func TestKeepable(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		network  string
		src, dst netip.Addr
		ok       bool
	}{
		{"tcp", a("192.0.2.7"), a("10.0.2.100"), true},
		{"tcp", a("10.0.2.2"), a("10.0.2.100"), true},
		{"udp", a("192.0.2.7"), a("10.0.2.100"), true},
		{"tcp", a("2001:db8::1"), a("fd00::100"), true},
		{"udp", a("fd00::2"), a("fd00::100"), true},
		{"sctp", a("192.0.2.7"), a("10.0.2.100"), false},
		{"tcp", a("2001:db8::1"), a("10.0.2.100"), false},
		{"tcp", a("192.0.2.7"), a("fd00::100"), false},
		{"udp", a("::ffff:192.0.2.7"), a("10.0.2.100"), false},
		{"udp", a("::"), a("fd00::100"), false},
		{"tcp", a("2001:db8::1"), a("::1"), false},
		{"tcp", a("0.0.0.0"), a("10.0.2.100"), false},
		{"tcp", a("224.0.0.1"), a("10.0.2.100"), false},
		{"tcp", a("192.0.2.7"), a("127.0.0.1"), false},
	} {
		if why := keepable(tc.network, tc.src, tc.dst); (why == "") != tc.ok {
			t.Errorf("keepable(%s, %v, %v) = %q, want ok=%v", tc.network, tc.src, tc.dst, why, tc.ok)
		}
	}
}
