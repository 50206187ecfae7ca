package dns

import (
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Upstreams: []string{blackhole(t)}, Timeout: time.Minute})
	errc := make(chan error, 2)
	go func() { errc <- s.ServeUDP(pc) }()
	go func() { errc <- s.ServeTCP(ln) }()

	// A UDP forward and a TCP forward in progress, and an idle connection.
	uc, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	_, _ = uc.Write(packQuery(t, 1, "slow.example."))
	tc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	writeTCP(t, tc, len(packQuery(t, 2, "slow.example.")), packQuery(t, 2, "slow.example."))
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().Forwarded < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Errorf("serve loop returned %v, want nil", err)
		}
	}
	expectClosed(t, idle, time.Second)
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.ServeUDP(pc); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeUDP after Close: %v", err)
	}
	if err := s.ServeTCP(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeTCP after Close: %v", err)
	}
	// Every goroutine the server started is gone.
	deadline = time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
}

func TestServeReturnsWhenConnClosed(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	defer s.Close()
	errc := make(chan error, 2)
	go func() { errc <- s.ServeUDP(pc) }()
	go func() { errc <- s.ServeTCP(ln) }()
	// Make sure both loops run before closing their sockets.
	ask(t, "udp", pc.LocalAddr().String(), "x.", mdns.TypeA)
	ask(t, "tcp", ln.Addr().String(), "x.", mdns.TypeA)
	pc.Close()
	ln.Close()
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("serve loop returned %v, want net.ErrClosed", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("serve loop did not return")
		}
	}
}

func TestNormaliseUpstream(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.1.1.1:53", "1.1.1.1:53"},
		{"1.1.1.1", "1.1.1.1:53"},
		{"127.0.0.53:5353", "127.0.0.53:5353"},
		{"[::1]:53", "[::1]:53"},
		{"2001:db8::1", "[2001:db8::1]:53"},
		{"[2001:db8::1]", "[2001:db8::1]:53"},
		{"[::ffff:10.0.0.1]:53", "10.0.0.1:53"},
		{"dns.google:53", ""},
		{"1.1.1.1:0", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := normaliseUpstream(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("normaliseUpstream(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	cfg := Config{Upstreams: []string{"bogus", "9.9.9.9"}}.withDefaults()
	if len(cfg.Upstreams) != 1 || cfg.Upstreams[0] != "9.9.9.9:53" {
		t.Errorf("upstreams %v", cfg.Upstreams)
	}
}
