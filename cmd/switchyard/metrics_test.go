package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freeTCPAddr returns a loopback address with a port free right now.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestUpMetricsAddr(t *testing.T) {
	addr := freeTCPAddr(t)
	_, cmd := startUp(t, "--metrics-addr", addr)
	var body []byte
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			break
		}
		if i == 50 {
			t.Fatalf("scrape %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{`switchyard_port_rx_frames_total{network="default",port="gateway"}`,
		`switchyard_fdb_max_entries{network="default"} 8192`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("metrics still served after the daemon stopped")
	}
	// A bad address is refused at start-up, before the daemon serves.
	_, stderr, code := sy(t, "up", "--socket", filepath.Join(t.TempDir(), "s.sock"), "--metrics-addr", "256.1.1.1:9")
	if code != 1 || !strings.Contains(stderr, "metrics") {
		t.Errorf("up with a bad metrics address: exit %d, %q", code, stderr)
	}
}
