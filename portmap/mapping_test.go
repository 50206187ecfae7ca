package portmap

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

func TestMappingElements(t *testing.T) {
	dest := netip.MustParseAddr("10.90.0.2")
	cases := []struct {
		name  string
		m     Mapping
		count int
		first string // key-keyEnd-val of the first element, hex
	}{
		{"one port, same", Mapping{Proto: "tcp", HostPort: 80, HostEnd: 80, Dest: dest, DestPort: 80}, 1,
			"000000000050-ffffffff0050-0a5a0002"},
		{"whole range, same", Mapping{Proto: "tcp", HostPort: 1, HostEnd: 65535, Dest: dest, DestPort: 1}, 1,
			"000000000001-ffffffffffff-0a5a0002"},
		{"shifted", Mapping{Proto: "udp", HostPort: 8080, HostEnd: 8082, Dest: dest, DestPort: 80}, 3,
			"1f90--0a5a00020050"},
		{"host address", Mapping{Proto: "tcp", HostIP: netip.MustParseAddr("192.0.2.7"), HostPort: 443, HostEnd: 443, Dest: dest, DestPort: 8443}, 1,
			"c000020701bb--0a5a000220fb"},
		{"host address, same ports", Mapping{Proto: "tcp", HostIP: netip.MustParseAddr("192.0.2.7"), HostPort: 443, HostEnd: 444, Dest: dest, DestPort: 443}, 1,
			"c000020701bb-c000020701bc-0a5a0002"},
	}
	hexs := func(b []byte) string { // addr . port without the padding
		if len(b) == 8 {
			b = b[:6]
		}
		return hex.EncodeToString(b)
	}
	for _, tc := range cases {
		if err := tc.m.Check(); err != nil {
			t.Errorf("%s: Check: %v", tc.name, err)
		}
		els := tc.m.elements()
		if len(els) != tc.count {
			t.Errorf("%s: %d elements, want %d", tc.name, len(els), tc.count)
			continue
		}
		if got := hexs(els[0].key) + "-" + hexs(els[0].keyEnd) + "-" + hexs(els[0].val); got != tc.first {
			t.Errorf("%s: first element %s, want %s", tc.name, got, tc.first)
		}
	}
}

func TestMappingCheckAndOverlaps(t *testing.T) {
	dest := netip.MustParseAddr("10.90.0.2")
	ok := Mapping{Proto: "tcp", HostPort: 8000, HostEnd: 8010, Dest: dest, DestPort: 9000}
	for _, bad := range []Mapping{
		{Proto: "sctp", HostPort: 1, HostEnd: 1, Dest: dest, DestPort: 1},
		{Proto: "tcp", HostIP: netip.MustParseAddr("::1"), HostPort: 1, HostEnd: 1, Dest: dest, DestPort: 1},
		{Proto: "tcp", HostPort: 1, HostEnd: 1, Dest: netip.MustParseAddr("fd00::2"), DestPort: 1},
		{Proto: "tcp", HostPort: 10, HostEnd: 9, Dest: dest, DestPort: 1},
		{Proto: "tcp", HostPort: 1, HostEnd: 10, Dest: dest, DestPort: 65530},
	} {
		if bad.Check() == nil {
			t.Errorf("Check accepted %s", bad)
		}
	}
	host := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		o    Mapping
		want bool
	}{
		{Mapping{Proto: "tcp", HostPort: 8010, HostEnd: 8020}, true},
		{Mapping{Proto: "tcp", HostPort: 8011, HostEnd: 8020}, false},
		{Mapping{Proto: "udp", HostPort: 8000, HostEnd: 8000}, false},
		{Mapping{Proto: "tcp", HostIP: host, HostPort: 8005, HostEnd: 8005}, true},
	} {
		if got := ok.Overlaps(tc.o); got != tc.want || tc.o.Overlaps(ok) != tc.want {
			t.Errorf("%s overlaps %s: %v, want %v", ok, tc.o, got, tc.want)
		}
	}
	a := Mapping{Proto: "tcp", HostIP: host, HostPort: 1, HostEnd: 1}
	b := Mapping{Proto: "tcp", HostIP: netip.MustParseAddr("192.0.2.8"), HostPort: 1, HostEnd: 1}
	if a.Overlaps(b) {
		t.Error("mappings on two host addresses overlap")
	}
}

func TestTableName(t *testing.T) {
	a, b := TableName("/run/switchyard.sock"), TableName("/tmp/x/sy.sock")
	if a == b || !strings.HasPrefix(a, TablePrefix+"-") || a != TableName("/run/switchyard.sock") || len(a) > 64 {
		t.Fatalf("TableName: %q %q", a, b)
	}
}
