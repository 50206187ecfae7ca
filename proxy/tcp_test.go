package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestTCPEcho(t *testing.T) {
	for _, tc := range []struct{ name, host string }{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}} {
		t.Run(tc.name, func(t *testing.T) {
			backend := tcpEcho(t, net.JoinHostPort(tc.host, "0"))
			p := newProxy(t, Config{})
			id, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort(net.JoinHostPort(tc.host, "0")), Backend: backend})
			c := dialTCP(t, ln)
			echoTCP(t, c, "hello")
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			go c.Write(big)
			got := make([]byte, len(big))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, big) {
				t.Fatalf("1 MiB echo: %v", err)
			}
			c.Close()
			waitFor(t, "connection to end", func() bool { return info(t, p, id).Stats.Active == 0 })
			s := info(t, p, id).Stats
			want := uint64(5 + len(big))
			if s.Accepted != 1 || s.BytesIn != want || s.BytesOut != want || s.DialFailures != 0 {
				t.Fatalf("stats %+v, want 1 accepted and %d bytes each way", s, want)
			}
		})
	}
}

// TestTCPHalfCloseClient: the client's FIN reaches the backend, which can
// still answer.
func TestTCPHalfCloseClient(t *testing.T) {
	backend := tcpServer(t, "127.0.0.1:0", func(c *net.TCPConn) {
		got, _ := io.ReadAll(c)
		c.Write([]byte("got " + string(got)))
	})
	p := newProxy(t, Config{})
	_, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	c := dialTCP(t, ln)
	c.Write([]byte("request"))
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "got request" {
		t.Fatalf("reply %q, %v; want %q", reply, err, "got request")
	}
}

// TestTCPHalfCloseBackend: the backend's FIN reaches the client, which can
// still send.
func TestTCPHalfCloseBackend(t *testing.T) {
	late := make(chan string, 1)
	backend := tcpServer(t, "127.0.0.1:0", func(c *net.TCPConn) {
		c.Write([]byte("greeting"))
		c.CloseWrite()
		got, _ := io.ReadAll(c)
		late <- string(got)
	})
	p := newProxy(t, Config{})
	_, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	c := dialTCP(t, ln)
	greeting, err := io.ReadAll(c)
	if err != nil || string(greeting) != "greeting" {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	c.Write([]byte("after EOF"))
	c.CloseWrite()
	select {
	case got := <-late:
		if got != "after EOF" {
			t.Fatalf("backend got %q after its half-close", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("backend never saw the client's data and FIN")
	}
}

// TestTCPBackendDown: as with docker-proxy the client's connection is
// accepted, then closed.
func TestTCPBackendDown(t *testing.T) {
	p := newProxy(t, Config{})
	id, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"),
		Backend: freePort(t, "tcp", "127.0.0.1:0")})
	c := dialTCP(t, ln)
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read: %d, %v; want EOF", n, err)
	}
	waitFor(t, "dial failure count", func() bool { return info(t, p, id).Stats.DialFailures == 1 })
}

func TestTCPDialTimeout(t *testing.T) {
	p := newProxy(t, Config{DialTimeout: 100 * time.Millisecond})
	id, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"),
		Backend: netip.MustParseAddrPort("127.0.0.1:9"), Dialer: hangingDialer{}})
	start := time.Now()
	c := dialTCP(t, ln)
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v; want EOF", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v; want about 100ms", d)
	}
	waitFor(t, "dial failure count", func() bool { return info(t, p, id).Stats.DialFailures == 1 })
}

// flakyListener fails its first n accepts with EMFILE.
type flakyListener struct {
	net.Listener
	n atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestTCPAcceptErrorBackoff(t *testing.T) {
	backend := tcpEcho(t, "127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln}
	fl.n.Store(5)
	p := newProxy(t, Config{MaxAcceptBackoff: 40 * time.Millisecond})
	start := time.Now()
	id, addr := add(t, p, Mapping{Proto: TCP, Listener: fl, Backend: backend})
	c := dialTCP(t, addr)
	echoTCP(t, c, "still serving")
	// Pauses 5+10+20+40+40 ms (capped) before the connection is accepted.
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("served after %v: no back-off", d)
	}
	if s := info(t, p, id).Stats; s.AcceptErrors != 5 || s.Accepted != 1 {
		t.Fatalf("stats %+v; want 5 accept errors, 1 accepted", s)
	}
}

func TestBackoff(t *testing.T) {
	bo := (&base{cfg: Config{MaxAcceptBackoff: time.Second}}).newBackoff()
	var got []string
	for range 10 {
		got = append(got, bo.Next().String())
	}
	want := "5ms 10ms 20ms 40ms 80ms 160ms 320ms 640ms 1s 1s"
	if strings.Join(got, " ") != want {
		t.Fatalf("backoff %v, want %s", got, want)
	}
}

// TestTCPClientSource: the dialer hook gets the client's address.
func TestTCPClientSource(t *testing.T) {
	backend := tcpEcho(t, "127.0.0.1:0")
	d := &recordingDialer{}
	p := newProxy(t, Config{Dialer: d})
	_, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	c := dialTCP(t, ln)
	echoTCP(t, c, "x")
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.src) != 1 || d.src[0] != addrPortOf(c.LocalAddr()) || d.dst[0] != backend {
		t.Fatalf("dialer saw src %v dst %v; want %v, %v", d.src, d.dst, c.LocalAddr(), backend)
	}
}

// TestTCPResetPassedOn: a client's RST ends the backend connection with a
// reset too, not a FIN.
func TestTCPResetPassedOn(t *testing.T) {
	res := make(chan error, 1)
	backend := tcpServer(t, "127.0.0.1:0", func(c *net.TCPConn) {
		c.Write([]byte("hi"))
		_, err := io.ReadAll(c)
		res <- err
	})
	p := newProxy(t, Config{})
	_, ln := add(t, p, Mapping{Proto: TCP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: backend})
	c := dialTCP(t, ln)
	io.ReadFull(c, make([]byte, 2))
	c.SetLinger(0)
	c.Close()
	select {
	case err := <-res:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("backend read: %v; want ECONNRESET", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("backend connection not ended")
	}
}
