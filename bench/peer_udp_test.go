package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// startUDPEcho runs a UDP echo server on loopback for the test's lifetime.
func startUDPEcho(t *testing.T) string {
	t.Helper()
	return startServer(t, func(ctx context.Context, ready func(net.Addr)) error {
		_, err := RunUDPServer(ctx, UDPServerConfig{Listen: "127.0.0.1:0", MaxDuration: time.Minute}, ready)
		return err
	})
}

func TestUDPRRClient(t *testing.T) {
	addr := startUDPEcho(t)
	r, err := RunUDPRRClient(context.Background(), UDPRRClientConfig{Addr: addr, Iterations: 300, Warmup: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Iterations != 300 || r.Size != DefaultMessageSize || r.Lost != 0 || r.P50US <= 0 || r.P99US < r.P50US {
		t.Fatalf("result %+v", r)
	}
	r, err = RunUDPRRClient(context.Background(), UDPRRClientConfig{Addr: addr, Size: 8, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Iterations == 0 || r.Seconds < 0.1 || r.Seconds > 2 {
		t.Fatalf("duration-bound result %+v", r)
	}
}

// TestUDPRRClientLoss answers only every other datagram, late ones
// with a stale sequence number first: lost datagrams are counted and stale
// answers skipped.
func TestUDPRRClientLoss(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		var prev []byte
		for i := 0; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if prev != nil {
				pc.WriteTo(prev, from) // stale
			}
			if i%2 == 0 {
				pc.WriteTo(buf[:n], from)
			}
			prev = append([]byte(nil), buf[:n]...)
		}
	}()
	r, err := RunUDPRRClient(context.Background(), UDPRRClientConfig{Addr: pc.LocalAddr().String(), Iterations: 10,
		Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Iterations != 10 || r.Lost < 8 || r.Lost > 10 {
		t.Fatalf("result %+v", r)
	}
}

func TestUDPRRClientGivesUp(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close() // never answers
	_, err = RunUDPRRClient(context.Background(), UDPRRClientConfig{Addr: pc.LocalAddr().String(), Iterations: 10,
		Timeout: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in a row unanswered") {
		t.Fatalf("err %v", err)
	}
	for _, size := range []int{7, 65508} {
		if _, err := RunUDPRRClient(context.Background(), UDPRRClientConfig{Addr: "127.0.0.1:9", Size: size}); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunUDPRRClient(ctx, UDPRRClientConfig{Addr: pc.LocalAddr().String()}); err == nil {
		t.Error("cancelled client succeeded")
	}
}
