package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// startEcho runs an echo server on loopback for the test's lifetime.
func startEcho(t *testing.T, size int) string {
	t.Helper()
	return startServer(t, func(ctx context.Context, ready func(net.Addr)) error {
		_, err := RunRRServer(ctx, RRServerConfig{Listen: "127.0.0.1:0", Size: size, MaxDuration: time.Minute}, ready)
		return err
	})
}

// startServer runs a peer server (serve reports its address to ready) for
// the test's lifetime and returns its address; the server must stop when
// its context ends.
func startServer(t *testing.T, serve func(ctx context.Context, ready func(net.Addr)) error) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, func(a net.Addr) { ready <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	})
	select {
	case a := <-ready:
		return a.String()
	case err := <-done:
		t.Fatalf("server: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	return ""
}

func TestRRClientIterations(t *testing.T) {
	addr := startEcho(t, 0)
	r, err := RunRRClient(context.Background(), RRClientConfig{Addr: addr, Iterations: 300, Warmup: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Iterations != 300 || r.Size != DefaultMessageSize {
		t.Fatalf("iterations %d size %d, want 300 and %d", r.Iterations, r.Size, DefaultMessageSize)
	}
	if !(r.MinUS > 0 && r.MinUS <= r.P50US && r.P50US <= r.P90US && r.P90US <= r.P99US && r.P99US <= r.MaxUS) {
		t.Fatalf("latencies out of order: %+v", r)
	}
	if r.TransPerSec <= 0 || r.Seconds <= 0 {
		t.Fatalf("rate not computed: %+v", r)
	}
}

func TestRRClientDuration(t *testing.T) {
	addr := startEcho(t, 0)
	start := time.Now()
	r, err := RunRRClient(context.Background(), RRClientConfig{Addr: addr, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Iterations == 0 {
		t.Fatal("no exchanges")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("duration-bounded run took %s", el)
	}
}

func TestRRClientMultipleOfServerSize(t *testing.T) {
	// The harness's large-frame check sends k×size bytes to a size-byte
	// echo server.
	addr := startEcho(t, 64)
	r, err := RunRRClient(context.Background(), RRClientConfig{Addr: addr, Size: 64 * 140, Iterations: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Iterations != 3 {
		t.Fatalf("iterations %d", r.Iterations)
	}
}

func TestRRClientCancel(t *testing.T) {
	addr := startEcho(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := RunRRClient(ctx, RRClientConfig{Addr: addr, Duration: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("want a deadline error, got %v", err)
	}
}

func TestCRRClient(t *testing.T) {
	addr := startEcho(t, 0)
	r, err := RunCRRClient(context.Background(), CRRClientConfig{Addr: addr, MaxConns: 50})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 50 || r.Errors != 0 || r.ConnsPerSec <= 0 {
		t.Fatalf("got %+v", r)
	}
}

func TestCRRClientGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every connect is refused
	_, err = RunCRRClient(context.Background(), CRRClientConfig{Addr: addr, Duration: 10 * time.Second, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "failures in a row") {
		t.Fatalf("want give-up error, got %v", err)
	}
}

func TestMessageSizeBounds(t *testing.T) {
	if _, err := RunRRClient(context.Background(), RRClientConfig{Addr: "127.0.0.1:1", Size: -1}); err == nil {
		t.Fatal("negative size accepted")
	}
	if _, err := RunRRServer(context.Background(), RRServerConfig{Listen: "127.0.0.1:0", Size: maxMessageSize + 1}, nil); err == nil {
		t.Fatal("oversized message accepted")
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	r := summarize(lat, time.Second)
	if r.P50US != 50 || r.P90US != 90 || r.P99US != 99 || r.MinUS != 1 || r.MaxUS != 100 || r.MeanUS != 50.5 {
		t.Fatalf("got %+v", r)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Fatalf("single sample p99 = %v", got)
	}
	if got := summarize(nil, time.Second); got.Iterations != 0 || got.P50US != 0 {
		t.Fatalf("empty: %+v", got)
	}
}
