package dns

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// testServer is a Server serving UDP and TCP on 127.0.0.1.
type testServer struct {
	*Server
	udp, tcp string // "127.0.0.1:port"
}

// startServer starts a server for cfg on loopback; cleanup closes it and
// checks that both serve loops returned nil.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	errc := make(chan error, 2)
	go func() { errc <- s.ServeUDP(pc) }()
	go func() { errc <- s.ServeTCP(ln) }()
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- s.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close hung")
		}
		for range 2 {
			// ErrServerClosed: Close ran before the loop started (a
			// short test), which is the documented answer.
			if err := <-errc; err != nil && !errors.Is(err, ErrServerClosed) {
				t.Errorf("serve loop returned %v after Close", err)
			}
		}
	})
	return &testServer{Server: s, udp: pc.LocalAddr().String(), tcp: ln.Addr().String()}
}

// addr returns the server's address for network "udp" or "tcp".
func (ts *testServer) addr(network string) string {
	if network == "tcp" {
		return ts.tcp
	}
	return ts.udp
}

// ask sends one query over network and fails the test on a transport error.
func ask(t *testing.T, network, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	return exchangeMsg(t, network, addr, m)
}

// exchangeMsg sends m and checks the reply carries m's ID and question.
func exchangeMsg(t *testing.T, network, addr string, m *mdns.Msg) *mdns.Msg {
	t.Helper()
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %v: %v", network, m.Question, err)
	}
	if r.Id != m.Id {
		t.Errorf("reply ID %d, want %d", r.Id, m.Id)
	}
	if !slices.Equal(r.Question, m.Question) {
		t.Errorf("reply question %v, want %v", r.Question, m.Question)
	}
	return r
}

// rdata lists the answers' data, sorted ("10.0.0.2", "web.mynet.").
func rdata(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *mdns.A:
			out = append(out, rr.A.String())
		case *mdns.AAAA:
			out = append(out, rr.AAAA.String())
		case *mdns.PTR:
			out = append(out, rr.Ptr)
		default:
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	sort.Strings(out)
	return out
}

// upstream is a fake resolver on 127.0.0.1, UDP and TCP on one port.
type upstream struct {
	addr           string
	udpQ, tcpQ     atomic.Int64
	lastID         atomic.Uint32
	udpSrv, tcpSrv *mdns.Server
}

// startUpstream serves h on a fresh 127.0.0.1 port (UDP and TCP).
func startUpstream(t testing.TB, h func(w mdns.ResponseWriter, r *mdns.Msg)) *upstream {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for range 20 { // find a port free for both protocols
		p, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", p.LocalAddr().String())
		if err == nil {
			pc, ln = p, l
			break
		}
		p.Close()
	}
	if pc == nil {
		t.Fatal("no port free for both udp and tcp")
	}
	u := &upstream{addr: pc.LocalAddr().String()}
	wrap := func(n *atomic.Int64) mdns.HandlerFunc {
		return func(w mdns.ResponseWriter, r *mdns.Msg) {
			n.Add(1)
			u.lastID.Store(uint32(r.Id))
			h(w, r)
		}
	}
	u.udpSrv = &mdns.Server{PacketConn: pc, Handler: wrap(&u.udpQ)}
	u.tcpSrv = &mdns.Server{Listener: ln, Handler: wrap(&u.tcpQ)}
	for _, srv := range []*mdns.Server{u.udpSrv, u.tcpSrv} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return u
}

// answerA returns a handler answering every query with A records.
func answerA(addrs ...string) func(mdns.ResponseWriter, *mdns.Msg) {
	return func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		for _, a := range addrs {
			m.Answer = append(m.Answer, &mdns.A{
				Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300},
				A:   netip.MustParseAddr(a).AsSlice(),
			})
		}
		_ = w.WriteMsg(m)
	}
}

// rcodeHandler answers every query with rcode and no records.
func rcodeHandler(rcode int) func(mdns.ResponseWriter, *mdns.Msg) {
	return func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		_ = w.WriteMsg(m.SetRcode(r, rcode))
	}
}

// blackhole returns the address of a UDP socket that never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// closedPort returns a 127.0.0.1 UDP address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
