package dns

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzHandle feeds arbitrary bytes to the query handler, as UDP and as TCP
// payloads. It must never panic, and whatever it sends back must be a
// decodable response carrying the query's ID, within the client's UDP size.
func FuzzHandle(f *testing.F) {
	up := startUpstream(f, answerA("192.0.2.1", "192.0.2.2"))
	s := New(Config{Domain: "mynet", ResolveNames: true, Upstreams: []string{up.addr}})
	f.Cleanup(func() { s.Close() })
	s.SetRecords(testRecords)
	s.SetRecords(append(testRecords, Record{Name: "many", Addrs: manyAddrs(80)}))

	for _, q := range []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{"web.mynet.", mdns.TypeA, false},
		{"WWW.", mdns.TypeAAAA, true},
		{"many.", mdns.TypeANY, false},
		{"2.0.0.10.in-addr.arpa.", mdns.TypePTR, false},
		{"nope.mynet.", mdns.TypeMX, true},
		{"example.com.", mdns.TypeA, false},
	} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns {
			m.SetEdns0(1232, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2})
	f.Add(make([]byte, 12))

	f.Fuzz(func(t *testing.T, b []byte) {
		for _, udp := range []bool{true, false} {
			out := s.handle(context.Background(), b, udp)
			if out == nil {
				continue
			}
			r := new(mdns.Msg)
			if err := r.Unpack(out); err != nil {
				t.Fatalf("reply does not decode: %v", err)
			}
			if !r.Response || r.Id != binary.BigEndian.Uint16(b) {
				t.Fatalf("reply %v to query with ID %#x", r, binary.BigEndian.Uint16(b))
			}
			if udp && len(out) > 512 {
				q := new(mdns.Msg)
				if q.Unpack(b) != nil || q.IsEdns0() == nil || len(out) > int(q.IsEdns0().UDPSize()) {
					t.Fatalf("%d-byte UDP reply", len(out))
				}
			}
		}
	})
}

// manyAddrs returns n distinct IPv4 addresses.
func manyAddrs(n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out, netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}))
	}
	return out
}

// FuzzParseResolvConf: any file parses without error or panic into
// distinct "ip:53" upstreams.
func FuzzParseResolvConf(f *testing.F) {
	for _, s := range []string{"nameserver 1.1.1.1\n", "nameserver ::1 # x\nnameserver 1.1.1.1;c\n", "nameserver\n", "search a b\nnameserver fe80::1%eth0\n", "\x00nameserver 9.9.9.9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ups, err := ParseResolvConf(strings.NewReader(text))
		if err != nil {
			t.Fatalf("ParseResolvConf: %v", err)
		}
		seen := map[string]bool{}
		for _, u := range ups {
			ap, err := netip.ParseAddrPort(u)
			if err != nil || ap.Port() != 53 || seen[u] {
				t.Fatalf("upstream %q (%v) in %q", u, err, ups)
			}
			seen[u] = true
		}
	})
}
