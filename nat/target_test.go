package nat

import (
	"net/netip"
	"testing"
)

func TestTargetIPv6(t *testing.T) {
	n := &NAT{cfg: Config{Gateway: netip.MustParseAddr("10.0.2.2"), Subnet: netip.MustParsePrefix("10.0.2.0/24"),
		Gateway6: netip.MustParseAddr("fd00::2"), Subnet6: netip.MustParsePrefix("fd00::/64"), AllowHostLoopback: true}}
	for _, c := range []struct {
		dst, want string // want "" = refused
	}{
		{"[fd00::2]:80", "[::1]:80"},
		{"[fd00::3]:80", ""},
		{"[fd00::64]:80", ""},
		{"[::1]:80", ""},
		{"[::]:80", ""},
		{"[fe80::1]:80", ""},
		{"[ff02::1]:80", ""},
		{"[ff05::2]:80", ""},
		{"[2001:db8::1]:443", "[2001:db8::1]:443"},
		{"10.0.2.2:80", "127.0.0.1:80"},
		{"10.0.2.9:80", ""},
		{"192.0.2.1:80", "192.0.2.1:80"},
	} {
		got, ok := n.target(netip.MustParseAddrPort(c.dst))
		if (c.want == "") == ok || (ok && got.String() != c.want) {
			t.Errorf("target(%s) = %v %v, want %q", c.dst, got, ok, c.want)
		}
	}
	n.cfg.AllowHostLoopback = false
	if _, ok := n.target(netip.MustParseAddrPort("[fd00::2]:80")); ok {
		t.Error("IPv6 host loopback allowed when off")
	}
	// IPv6 off: nothing special about fd00::2.
	n.cfg.Gateway6, n.cfg.Subnet6 = netip.Addr{}, netip.Prefix{}
	if got, ok := n.target(netip.MustParseAddrPort("[fd00::2]:80")); !ok || got.String() != "[fd00::2]:80" {
		t.Errorf("IPv6 off: target(fd00::2) = %v %v", got, ok)
	}
}
