package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestForward(t *testing.T) {
	// The upstream answers with a lower-cased question: the client must
	// still get its own question (and ID) back.
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Question[0].Name = strings.ToLower(m.Question[0].Name)
		if m.Question[0].Name == "gone.example." {
			m.Rcode = mdns.RcodeNameError
		} else {
			m.Answer = append(m.Answer, &mdns.A{
				Hdr: mdns.RR_Header{Name: m.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300},
				A:   netip.MustParseAddr("192.0.2.1").AsSlice(),
			})
		}
		_ = w.WriteMsg(m)
	})
	ts := startServer(t, Config{Domain: "mynet", ResolveNames: true, Upstreams: []string{up.addr}})
	ts.SetRecords(testRecords)

	tests := []struct {
		name  string
		rcode int
		want  []string
	}{
		{"example.com.", mdns.RcodeSuccess, []string{"192.0.2.1"}},
		{"ExAmPle.COM.", mdns.RcodeSuccess, []string{"192.0.2.1"}},
		{"gone.example.", mdns.RcodeNameError, nil},
		{"web.", mdns.RcodeSuccess, []string{"10.0.0.2"}}, // local, not forwarded
		{"nope.mynet.", mdns.RcodeNameError, nil},         // in the domain: not forwarded
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := ask(t, network, ts.addr(network), tt.name, mdns.TypeA)
				if r.Rcode != tt.rcode || !slices.Equal(rdata(r), tt.want) {
					t.Errorf("got %s %v, want %s %v", mdns.RcodeToString[r.Rcode], rdata(r), mdns.RcodeToString[tt.rcode], tt.want)
				}
			})
		}
	}
	if n := up.udpQ.Load(); n != 6 {
		t.Errorf("upstream got %d UDP queries, want 6", n)
	}
	if st := ts.Stats(); st.Forwarded != 6 || st.NXDomain != 4 || st.Local != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestForwardKeepsClientID(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.7"))
	ts := startServer(t, Config{ResolveNames: true, Upstreams: []string{up.addr}})
	for _, id := range []uint16{0, 1, 0xbeef, 0xffff} {
		m := new(mdns.Msg)
		m.SetQuestion("id.example.", mdns.TypeA)
		m.Id = id
		r := exchangeMsg(t, "udp", ts.udp, m) // checks the ID
		if !slices.Equal(rdata(r), []string{"192.0.2.7"}) {
			t.Errorf("id %d: %v", id, r)
		}
	}
}

func TestResolveNamesFalseForwardsEverything(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.99"))
	ts := startServer(t, Config{Domain: "bridge", ResolveNames: false, Upstreams: []string{up.addr}})
	ts.SetRecords(testRecords)
	for _, name := range []string{"web.", "web.bridge.", "nope.bridge.", "2.0.0.10.in-addr.arpa."} {
		r := ask(t, "udp", ts.udp, name, mdns.TypeA)
		if r.Rcode != mdns.RcodeSuccess || !slices.Equal(rdata(r), []string{"192.0.2.99"}) {
			t.Errorf("%s: got %v, want the upstream's answer", name, r)
		}
	}
	if st := ts.Stats(); st.Local != 0 || st.Forwarded != 4 || up.udpQ.Load() != 4 {
		t.Errorf("stats %+v, upstream saw %d", st, up.udpQ.Load())
	}
}

func TestUpstreamFailures(t *testing.T) {
	good := startUpstream(t, answerA("192.0.2.2"))
	failing := startUpstream(t, rcodeHandler(mdns.RcodeServerFailure))
	refusing := startUpstream(t, rcodeHandler(mdns.RcodeRefused))
	const timeout = 300 * time.Millisecond
	hole := blackhole(t)
	tests := []struct {
		name      string
		upstreams []string
		rcode     int
		want      []string
		min, max  time.Duration
	}{
		{"none", nil, mdns.RcodeServerFailure, nil, 0, timeout * 8 / 10},
		{"refused port", []string{closedPort(t)}, mdns.RcodeServerFailure, nil, 0, timeout * 8 / 10},
		{"no answer", []string{hole}, mdns.RcodeServerFailure, nil, timeout * 8 / 10, 3 * timeout},
		{"two dead", []string{closedPort(t), hole}, mdns.RcodeServerFailure, nil, timeout * 8 / 10, 3 * timeout},
		{"dead then good", []string{hole, good.addr}, mdns.RcodeSuccess, []string{"192.0.2.2"}, timeout * 8 / 10, 3 * timeout},
		{"servfail then good", []string{failing.addr, good.addr}, mdns.RcodeSuccess, []string{"192.0.2.2"}, 0, timeout},
		{"refused then servfail", []string{refusing.addr, failing.addr}, mdns.RcodeServerFailure, nil, 0, timeout},
		{"servfail then refused", []string{failing.addr, refusing.addr}, mdns.RcodeRefused, nil, 0, timeout},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				ts := startServer(t, Config{Upstreams: tt.upstreams, Timeout: timeout})
				start := time.Now()
				r := ask(t, network, ts.addr(network), "fail.example.", mdns.TypeA)
				took := time.Since(start)
				if tt.rcode >= 0 && (r.Rcode != tt.rcode || !slices.Equal(rdata(r), tt.want)) {
					t.Errorf("got %s %v, want %s %v", mdns.RcodeToString[r.Rcode], rdata(r), mdns.RcodeToString[tt.rcode], tt.want)
				}
				if took < tt.min || took > tt.max {
					t.Errorf("took %v, want %v..%v", took, tt.min, tt.max)
				}
				if tt.rcode == mdns.RcodeServerFailure && ts.Stats().ServFail != 1 {
					t.Errorf("stats %+v", ts.Stats())
				}
			})
		}
	}
}

func TestTruncatedUpstreamRetriedOverTCP(t *testing.T) {
	var addrs []string
	for i := range 60 {
		addrs = append(addrs, fmt.Sprintf("192.0.2.%d", i+1))
	}
	full := answerA(addrs...)
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		if w.RemoteAddr().Network() == "udp" {
			m := new(mdns.Msg)
			m.SetReply(r)
			m.Truncated = true
			_ = w.WriteMsg(m)
			return
		}
		full(w, r)
	})
	ts := startServer(t, Config{Upstreams: []string{up.addr}})

	// Over TCP, and over UDP with a big enough EDNS size, the client gets
	// the whole answer the upstream sent over TCP.
	r := ask(t, "tcp", ts.tcp, "big.example.", mdns.TypeA)
	if r.Truncated || len(r.Answer) != 60 {
		t.Errorf("tcp: truncated %v, %d answers", r.Truncated, len(r.Answer))
	}
	m := new(mdns.Msg)
	m.SetQuestion("big.example.", mdns.TypeA)
	m.SetEdns0(4096, false)
	if r := exchangeMsg(t, "udp", ts.udp, m); r.Truncated || len(r.Answer) != 60 {
		t.Errorf("udp+edns: truncated %v, %d answers", r.Truncated, len(r.Answer))
	}
	// Plain UDP: the answer does not fit 512 bytes; the client is told so.
	if r := ask(t, "udp", ts.udp, "big.example.", mdns.TypeA); !r.Truncated || len(r.Answer) >= 60 {
		t.Errorf("udp: truncated %v, %d answers", r.Truncated, len(r.Answer))
	}
	if u, tc := up.udpQ.Load(), up.tcpQ.Load(); u != 3 || tc != 3 {
		t.Errorf("upstream saw %d udp and %d tcp queries, want 3 and 3", u, tc)
	}
}

func TestTruncatedUpstreamTCPFails(t *testing.T) {
	// The upstream truncates over UDP and has no TCP: the truncated answer
	// is passed on so the client retries (and fails) by itself.
	pc := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Truncated = true
		_ = w.WriteMsg(m)
	})
	_ = pc.tcpSrv.Shutdown()
	ts := startServer(t, Config{Upstreams: []string{pc.addr}, Timeout: time.Second})
	r := ask(t, "udp", ts.udp, "big.example.", mdns.TypeA)
	if r.Rcode != mdns.RcodeSuccess || !r.Truncated {
		t.Errorf("got %v, want truncated NOERROR", r)
	}
}

func TestForwardStripsUnaskedOPT(t *testing.T) {
	up := startUpstream(t, func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.SetEdns0(1232, false) // whether or not the query had one
		_ = w.WriteMsg(m)
	})
	ts := startServer(t, Config{Upstreams: []string{up.addr}})
	if r := ask(t, "udp", ts.udp, "x.example.", mdns.TypeA); r.IsEdns0() != nil {
		t.Errorf("OPT in the reply to a query without one: %v", r)
	}
	m := new(mdns.Msg)
	m.SetQuestion("x.example.", mdns.TypeA)
	m.SetEdns0(4096, false)
	if r := exchangeMsg(t, "udp", ts.udp, m); r.IsEdns0() == nil {
		t.Errorf("no OPT in the reply to an EDNS query: %v", r)
	}
}
