// Package etcdtest starts throw-away etcd servers (Debian's etcd-server)
// for tests, on the host's loopback or inside a test's network namespace,
// and removes their processes and data directories when the test ends.
package etcdtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// Server is one etcd member.
type Server struct {
	t      testing.TB
	netns  string // namespace name, empty for the caller's
	ip     string
	client int
	peer   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs etcd with its data in a temporary directory, listening on
// ip (127.0.0.1 when empty) inside the named namespace (the caller's when
// empty), and waits until it answers. Missing etcd skips the test through
// nstest.Skip (a failure under CI=true).
func Start(t testing.TB, netns, ip string) *Server {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		nstest.Skipf(t, "needs etcd (Debian etcd-server): %v", err)
	}
	if ip == "" {
		ip = "127.0.0.1"
	}
	s := &Server{t: t, netns: netns, ip: ip, dir: t.TempDir(), client: 2379, peer: 2380}
	if err := os.Chmod(s.dir, 0o700); err != nil {
		t.Fatalf("etcd data dir: %v", err)
	}
	if netns == "" {
		s.client, s.peer = freePort(t, ip), freePort(t, ip)
	}
	t.Cleanup(s.Stop)
	s.start()
	return s
}

// Endpoint returns the server's HOST:PORT for etcd:// URLs.
func (s *Server) Endpoint() string { return net.JoinHostPort(s.ip, fmt.Sprint(s.client)) }

// URL returns the cluster store URL etcd://HOST:PORT.
func (s *Server) URL() string { return "etcd://" + s.Endpoint() }

func (s *Server) start() {
	s.t.Helper()
	cu, pu := fmt.Sprintf("http://%s:%d", s.ip, s.client), fmt.Sprintf("http://%s:%d", s.ip, s.peer)
	argv := []string{"etcd", "--name", "sytest", "--data-dir", s.dir,
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "sytest=" + pu, "--logger", "zap", "--log-level", "error"}
	if s.netns != "" {
		argv = append([]string{"ip", "netns", "exec", s.netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start etcd: %v", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(cmd, s.exited)
	deadline := time.Now().Add(20 * time.Second)
	for !s.healthy() {
		select {
		case <-s.exited:
			s.t.Fatalf("etcd exited during start-up: %v", cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatal("etcd not healthy after 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// healthy asks etcd's /health from inside its namespace.
func (s *Server) healthy() bool {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		d := func() error {
			var err error
			c, err = (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
			return err
		}
		if s.netns == "" {
			return c, d()
		}
		return c, nsutil.Do(nstest.Path(s.netns), d)
	}
	cl := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dial}}
	r, err := cl.Get("http://" + s.Endpoint() + "/health")
	if err != nil {
		return false
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return strings.Contains(string(b), `"health":"true"`)
}

// Kill stops the server with SIGKILL, keeping its data for Restart.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts a killed server again on the same data and addresses.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Stop kills the server; the data directory goes with the test's TempDir.
func (s *Server) Stop() { s.Kill() }

// freePort returns a TCP port that was free on ip.
func freePort(t testing.TB, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
