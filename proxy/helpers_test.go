package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

// testLog logs to the test output when -v is given.
func testLog(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newProxy returns a Proxy closed at the end of the test.
func newProxy(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	p := New(cfg, testLog(t))
	t.Cleanup(func() { p.Close() })
	return p
}

// add adds m and returns the address the mapping listens on.
func add(t testing.TB, p *Proxy, m Mapping) (ID, netip.AddrPort) {
	t.Helper()
	id, err := p.Add(m)
	if err != nil {
		t.Fatalf("Add(%+v): %v", m, err)
	}
	return id, info(t, p, id).Listen
}

func info(t testing.TB, p *Proxy, id ID) MappingInfo {
	t.Helper()
	for _, mi := range p.List() {
		if mi.ID == id {
			return mi
		}
	}
	t.Fatalf("mapping %d not listed", id)
	return MappingInfo{}
}

// tcpEcho runs a TCP echo server on addr ("127.0.0.1:0") until the test
// ends; each connection echoes until EOF, then closes.
func tcpEcho(t testing.TB, addr string) netip.AddrPort {
	t.Helper()
	return tcpServer(t, addr, func(c *net.TCPConn) {
		io.Copy(c, c)
	})
}

// tcpServer runs handle for every connection to a listener on addr.
func tcpServer(t testing.TB, addr string, handle func(*net.TCPConn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	return addrPortOf(ln.Addr())
}

// udpEcho runs a UDP echo server on addr until the test ends.
func udpEcho(t testing.TB, addr string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return addrPortOf(pc.LocalAddr())
}

// freePort returns a port that was free on addr a moment ago.
func freePort(t testing.TB, network, addr string) netip.AddrPort {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return addrPortOf(pc.LocalAddr())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return addrPortOf(ln.Addr())
}

// dialTCP connects to ap with a test deadline.
func dialTCP(t testing.TB, ap netip.AddrPort) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// echoTCP sends msg over c and checks that it comes back.
func echoTCP(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("echo of %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// echoUDP sends msg from c and checks the reply.
func echoUDP(t testing.TB, c *net.UDPConn, to netip.AddrPort, msg []byte) netip.AddrPort {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(msg, to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxDatagram)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("UDP echo via %s: %v", to, err)
	}
	if string(buf[:n]) != string(msg) {
		t.Fatalf("UDP echo: got %d bytes, want %d", n, len(msg))
	}
	return netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recordingDialer dials to a fixed target whatever the destination, and
// records the sources and destinations it was asked for.
type recordingDialer struct {
	target netip.AddrPort // zero: dial dst
	mu     sync.Mutex
	src    []netip.AddrPort
	dst    []netip.AddrPort
}

func (d *recordingDialer) record(src, dst netip.AddrPort) netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.src = append(d.src, src)
	d.dst = append(d.dst, dst)
	if d.target.IsValid() {
		return d.target
	}
	return dst
}

func (d *recordingDialer) DialTCP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	return HostDialer{}.DialTCP(ctx, src, d.record(src, dst))
}

func (d *recordingDialer) DialUDP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	return HostDialer{}.DialUDP(ctx, src, d.record(src, dst))
}

// hangingDialer never connects: it waits for the context.
type hangingDialer struct{}

func (hangingDialer) DialTCP(ctx context.Context, _, _ netip.AddrPort) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hangingDialer) DialUDP(ctx context.Context, _, _ netip.AddrPort) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

var errTest = errors.New("test error")
