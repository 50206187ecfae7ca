package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

var testRecords = []Record{
	{Name: "web", Aliases: []string{"www", "api.internal"}, Addrs: []netip.Addr{
		netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::2")}},
	{Name: "db", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.3")}},
	{Name: "Mixed.Case", Addrs: []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.4")}},
	{Name: "v6only", Addrs: []netip.Addr{netip.MustParseAddr("fd00::5")}},
	// A second endpoint with the alias "www": answers are merged.
	{Name: "web2", Aliases: []string{"www"}, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.6")}},
}

func TestLocalAnswers(t *testing.T) {
	ts := startServer(t, Config{Domain: "MyNet.", ResolveNames: true, TTL: 42})
	ts.SetRecords(testRecords)

	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string // sorted rdata; nil: empty answer
	}{
		{"web.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.0.0.2"}},
		{"web.mynet.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.0.0.2"}},
		{"WeB.MYNET.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.0.0.2"}},
		{"web.", mdns.TypeAAAA, mdns.RcodeSuccess, []string{"fd00::2"}},
		{"web.mynet.", mdns.TypeANY, mdns.RcodeSuccess, []string{"10.0.0.2", "fd00::2"}},
		{"www.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.0.0.2", "10.0.0.6"}},
		{"api.internal.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.0.0.2"}},
		{"API.Internal.mynet.", mdns.TypeAAAA, mdns.RcodeSuccess, []string{"fd00::2"}},
		{"mixed.case.mynet.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.0.0.4"}},
		{"v6only.", mdns.TypeAAAA, mdns.RcodeSuccess, []string{"fd00::5"}},
		// NODATA: known name, no records of that type; not forwarded.
		{"db.", mdns.TypeAAAA, mdns.RcodeSuccess, nil},
		{"v6only.mynet.", mdns.TypeA, mdns.RcodeSuccess, nil},
		{"web.", mdns.TypeMX, mdns.RcodeSuccess, nil},
		{"web.", mdns.TypeTXT, mdns.RcodeSuccess, nil},
		// PTR answers the endpoint name (not aliases) under the domain.
		{"2.0.0.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, []string{"web.mynet."}},
		{"4.0.0.10.IN-ADDR.ARPA.", mdns.TypePTR, mdns.RcodeSuccess, []string{"Mixed.Case.mynet."}},
		{rev("fd00::2"), mdns.TypePTR, mdns.RcodeSuccess, []string{"web.mynet."}},
		{rev("fd00::5"), mdns.TypePTR, mdns.RcodeSuccess, []string{"v6only.mynet."}},
		{"2.0.0.10.in-addr.arpa.", mdns.TypeA, mdns.RcodeSuccess, nil},
		// Under the domain but unknown: authoritative NXDOMAIN.
		{"nope.mynet.", mdns.TypeA, mdns.RcodeNameError, nil},
		{"a.b.MYNET.", mdns.TypeAAAA, mdns.RcodeNameError, nil},
		// Outside the domain with no upstreams: SERVFAIL.
		{"nope.", mdns.TypeA, mdns.RcodeServerFailure, nil},
		{"example.com.", mdns.TypeA, mdns.RcodeServerFailure, nil},
		{"9.0.0.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeServerFailure, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s/%s", network, tt.name, mdns.TypeToString[tt.qtype]), func(t *testing.T) {
				r := ask(t, network, ts.addr(network), tt.name, tt.qtype)
				if r.Rcode != tt.rcode {
					t.Fatalf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tt.rcode])
				}
				if got := rdata(r); !slices.Equal(got, tt.want) {
					t.Errorf("answers %v, want %v", got, tt.want)
				}
				local := tt.rcode != mdns.RcodeServerFailure
				if r.Authoritative != local {
					t.Errorf("AA %v, want %v", r.Authoritative, local)
				}
				for _, rr := range r.Answer {
					if rr.Header().Ttl != 42 || rr.Header().Name != tt.name {
						t.Errorf("answer %v: want TTL 42 and owner %q", rr, tt.name)
					}
				}
			})
		}
	}
	st := ts.Stats()
	if st.Queries != 2*uint64(len(tests)) || st.Forwarded != 0 || st.NXDomain != 4 || st.ServFail != 6 || st.Local != 2*uint64(len(tests))-6 {
		t.Errorf("stats %+v", st)
	}
}

// rev returns the reverse-lookup name of addr.
func rev(addr string) string {
	r, err := mdns.ReverseAddr(addr)
	if err != nil {
		panic(err)
	}
	return r
}

func TestNoDomain(t *testing.T) {
	ts := startServer(t, Config{ResolveNames: true})
	ts.SetRecords(testRecords)
	if r := ask(t, "udp", ts.udp, "WEB.", mdns.TypeA); r.Rcode != mdns.RcodeSuccess || !slices.Equal(rdata(r), []string{"10.0.0.2"}) {
		t.Errorf("web.: %v", r)
	}
	if r := ask(t, "udp", ts.udp, "2.0.0.10.in-addr.arpa.", mdns.TypePTR); !slices.Equal(rdata(r), []string{"web."}) {
		t.Errorf("PTR: %v", r)
	}
	// Without a domain nothing is authoritatively absent: forwarded.
	if r := ask(t, "udp", ts.udp, "nope.mynet.", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("nope.mynet.: %v", r)
	}
}

func TestEDNSLocal(t *testing.T) {
	ts := startServer(t, Config{Domain: "mynet", ResolveNames: true})
	var many []netip.Addr
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}))
	}
	ts.SetRecords([]Record{{Name: "big", Addrs: many}})
	m := new(mdns.Msg)
	m.SetQuestion("big.mynet.", mdns.TypeA)
	// Plain UDP: 100 A records do not fit 512 bytes.
	if r := exchangeMsg(t, "udp", ts.udp, m.Copy()); !r.Truncated || len(r.Answer) >= 100 {
		t.Errorf("udp: truncated %v with %d answers", r.Truncated, len(r.Answer))
	}
	if r := exchangeMsg(t, "tcp", ts.tcp, m.Copy()); r.Truncated || len(r.Answer) != 100 {
		t.Errorf("tcp: truncated %v with %d answers", r.Truncated, len(r.Answer))
	}
	m.SetEdns0(4096, false)
	r := exchangeMsg(t, "udp", ts.udp, m)
	if r.Truncated || len(r.Answer) != 100 || r.IsEdns0() == nil {
		t.Errorf("udp+edns: truncated %v with %d answers, opt %v", r.Truncated, len(r.Answer), r.IsEdns0())
	}
}

func TestSetRecordsWhileServing(t *testing.T) {
	ts := startServer(t, Config{Domain: "mynet", ResolveNames: true})
	rec := func(name, addr string) []Record {
		return []Record{{Name: name, Addrs: []netip.Addr{netip.MustParseAddr(addr)}}}
	}
	if r := ask(t, "udp", ts.udp, "late.mynet.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Fatalf("before: %v", r)
	}
	ts.SetRecords(rec("late", "10.0.0.9"))
	for _, network := range []string{"udp", "tcp"} {
		if r := ask(t, network, ts.addr(network), "late.mynet.", mdns.TypeA); !slices.Equal(rdata(r), []string{"10.0.0.9"}) {
			t.Fatalf("%s after add: %v", network, r)
		}
	}
	ts.SetRecords(rec("late", "10.0.0.10"))
	if r := ask(t, "udp", ts.udp, "late.", mdns.TypeA); !slices.Equal(rdata(r), []string{"10.0.0.10"}) {
		t.Fatalf("after change: %v", r)
	}
	ts.SetRecords(nil)
	if r := ask(t, "tcp", ts.tcp, "late.mynet.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Fatalf("after removal: %v", r)
	}

	// Swapping concurrently with queries: every answer is one of the sets
	// (seeded first, so no query can come before the first set).
	ts.SetRecords(rec("flip", "10.0.1.0"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ts.SetRecords(rec("flip", fmt.Sprintf("10.0.1.%d", i%2)))
			time.Sleep(20 * time.Microsecond) // swap often, without starving the server
		}
	})
	for range 200 {
		r := ask(t, "udp", ts.udp, "flip.mynet.", mdns.TypeA)
		if got := rdata(r); len(got) != 1 || (got[0] != "10.0.1.0" && got[0] != "10.0.1.1") {
			t.Fatalf("during swaps: %v", r)
		}
	}
	close(stop)
	wg.Wait()
}
