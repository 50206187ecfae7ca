package filter

import (
	"errors"
	"strings"
	"testing"
)

var errorTests = []struct {
	expr        string
	want        string // substring of the error message
	offset      int
	unsupported bool
}{
	// Unsupported constructs name the part that is not supported.
	{"greater 100", `unsupported primitive "greater"`, 0, true},
	{"port 80 and greater 100", `unsupported primitive "greater"`, 12, true},
	{"less 64", `unsupported primitive "less"`, 0, true},
	{"len > 100", `unsupported primitive "len"`, 0, true},
	{"tcp[13] & 2 != 0", `unsupported byte-offset expression "tcp[...]"`, 0, true},
	{"ether[0] & 1 = 1", `unsupported byte-offset expression "ether[...]"`, 0, true},
	{"ip[8] = 64", `unsupported byte-offset expression "ip[...]"`, 0, true},
	{"tcp and tcp[13] != 0", `"tcp[...]"`, 8, true},
	{"ether proto 0x800", `unsupported qualifier "ether proto"`, 6, true},
	{"ip proto 6", `unsupported qualifier "ip proto"`, 3, true},
	{"ip6 protochain 6", `unsupported qualifier "ip6 protochain"`, 4, true},
	{"proto 6", `unsupported primitive "proto"`, 0, true},
	{"gateway 10.0.0.1", `unsupported primitive "gateway"`, 0, true},
	{"src gateway 10.0.0.1", `unsupported qualifier "gateway"`, 4, true},
	{"host example.com", `unsupported host name "example.com"`, 5, true},
	{"src net localnet", `unsupported net name "localnet"`, 8, true},
	{"ether host router", `unsupported ethernet host name "router"`, 11, true},
	{"port foo", `unsupported port name "foo"`, 5, true},
	{"igmp", `unsupported primitive "igmp"`, 0, true},
	{"tcp or pim", `unsupported primitive "pim"`, 7, true},
	{"ip broadcast", `unsupported primitive "ip broadcast"`, 0, true},
	{"inbound", `unsupported primitive "inbound"`, 0, true},
	{"mpls 100", `unsupported primitive "mpls"`, 0, true},
	{"tcp port 80 and len <= 100", `unsupported primitive "len"`, 16, true},
	{"port 80 + 1", `unsupported arithmetic`, 8, true},
	{"wlan addr1 00:11:22:33:44:55", `unsupported primitive "wlan"`, 0, true},
	// Syntax and semantic errors, with their position.
	{"host", `expected an address, number or name, found end of expression`, 4, false},
	{"(tcp", `expected ")", found end of expression`, 4, false},
	{"tcp)", `expected "and", "or" or end of expression, found ")"`, 3, false},
	{"and", `expected a primitive, found "and"`, 0, false},
	{"tcp and", `expected a primitive, found end of expression`, 7, false},
	{"tcp port 80 udp", `found "udp"`, 12, false},
	{"10.0.0.1", `"10.0.0.1" needs a qualifier`, 0, false},
	{"tcp or 80", `"80" needs a qualifier`, 7, false},
	{"vlan 100 or 200", `"200" needs a qualifier`, 12, false},
	{"HOST 10.0.0.1", `unknown primitive "HOST"`, 0, false},
	{"tcp or foo", `unknown primitive "foo"`, 7, false},
	{"host port", `found "port"`, 5, false},
	{"port 70000", `illegal port number 70000 > 65535`, 5, false},
	{"port 1-2", `use portrange`, 5, false},
	{"portrange 1-2-3", `invalid port range`, 10, false},
	{"port 09", `invalid number "09"`, 5, false},
	{"port -1", `invalid port "-1"`, 5, false},
	{"port 1.2", `invalid port "1.2"`, 5, false},
	{"vlan 5000", `VLAN ID 5000 greater than maximum 4095`, 5, false},
	{"net 10.0.0.1/8", `non-network bits set in "10.0.0.1/8"`, 4, false},
	{"net 10.0.0.0/33", `mask length must be <= 32`, 13, false},
	{"net 10.0.0.0 mask 255.0.0.256", `invalid IPv4 address "255.0.0.256"`, 18, false},
	{"net 2001:db8::1/32", `non-network bits set in "2001:db8::1/32"`, 4, false},
	{"net 2001:db8::/129", `mask length must be <= 128`, 15, false},
	{"host 10.0.0.0/8", `mask syntax for networks only`, 14, false},
	{"tcp host 1.2.3.4", `'tcp' modifier applied to host`, 0, false},
	{"udp net 10.0.0.0/8", `'udp' modifier applied to net`, 0, false},
	{"ip6 host 1.2.3.4", `'ip6' modifier applied to ip host`, 0, false},
	{"ip host ::1", `'ip' modifier applied to ip6 host`, 0, false},
	{"arp host ::1", `'arp' modifier applied to ip6 host`, 0, false},
	{"host 00:11:22:33:44:55", `ethernet address "00:11:22:33:44:55" used in non-ether expression`, 5, false},
	{"ether host 1.2.3.4", `illegal link layer address "1.2.3.4"`, 11, false},
	{"ether", `link layer applied in wrong context`, 0, false},
	{"arp port 80", `illegal qualifier of 'port': 'arp'`, 0, false},
	{"icmp portrange 1-2", `illegal qualifier of 'portrange': 'icmp'`, 0, false},
	{"host 1.2.3.256", `invalid IPv4 address "1.2.3.256"`, 5, false},
	{"host 1.2.3.4 $", `unexpected character '$'`, 13, false},
	{"host 1.2.3.4 é", `unexpected character 'é'`, 13, false},
	{"port 80/8", `a port cannot have a mask`, 8, false},
	{"arp multicast", `only link-layer/IP multicast filters supported`, 0, false},
	{"host 1.2.3.4 mask", `expected a prefix length or netmask`, 17, false},
	{"(", `expected a primitive, found end of expression`, 1, false},
	{"not", `expected a primitive, found end of expression`, 3, false},
	{"src or dst", `expected an address, number or name, found end of expression`, 10, false},
	{strings.Repeat("(", 300) + "tcp" + strings.Repeat(")", 300), `nested deeper than 200 levels`, 200, false},
	{strings.Repeat("not ", 300) + "tcp", `nested deeper than 200 levels`, 800, false},
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range errorTests {
		f, err := Compile(tc.expr)
		if err == nil {
			t.Errorf("Compile(%q) = %v, want error containing %q", tc.expr, f.Dump(), tc.want)
			continue
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%q) error %T %v, want *Error", tc.expr, err, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || fe.Offset != tc.offset ||
			!strings.HasPrefix(err.Error(), "filter: ") {
			t.Errorf("Compile(%q) = %q (offset %d), want %q at offset %d", tc.expr, err, fe.Offset, tc.want, tc.offset)
		}
		if errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("Compile(%q): errors.Is(err, ErrUnsupported) = %v, want %v (%v)", tc.expr, !tc.unsupported, tc.unsupported, err)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Compile("port 80 and greater 100")
	if got, want := err.Error(), `filter: unsupported primitive "greater" at offset 12`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestTooComplex(t *testing.T) {
	var parts []string
	for i := 0; i < 300; i++ {
		parts = append(parts, "host 10.0.0.1")
	}
	_, err := Compile(strings.Join(parts, " or "))
	if err == nil || !strings.Contains(err.Error(), "too complex") {
		t.Errorf("error = %v, want too complex", err)
	}
	if _, err := Compile(strings.Repeat(" ", maxExprLen+1)); err == nil {
		t.Errorf("no error for an over-long expression")
	}
}
