package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// These tests run the built binary (see TestMain) the way dockerd runs
// its userland proxy: start-up pipe on fd 3, bound socket on fd 4.

// dockerProxy is a running docker-proxy child.
type dockerProxy struct {
	cmd    *exec.Cmd
	status string // what it wrote on fd 3
	stderr bytes.Buffer
	done   chan struct{}
	err    error // from Wait, once done is closed
}

// startDockerProxy runs path (the binary, or a docker-proxy symlink) with
// args, fd 3 a pipe unless noStatus, fd 4 listen if not nil, and reads the
// start-up result as dockerd does: two bytes, then the rest on failure.
func startDockerProxy(t *testing.T, path string, args []string, listen *os.File, noStatus bool) *dockerProxy {
	t.Helper()
	if filepath.Base(path) != "docker-proxy" {
		args = append([]string{"docker-proxy"}, args...)
	}
	d := &dockerProxy{cmd: exec.Command(path, args...), done: make(chan struct{})}
	d.cmd.Stderr = &d.stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !noStatus {
		d.cmd.ExtraFiles = []*os.File{w}
		if listen != nil {
			d.cmd.ExtraFiles = append(d.cmd.ExtraFiles, listen)
		}
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if listen != nil {
		listen.Close()
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("docker-proxy stderr:\n%s", d.stderr.String())
		}
	})
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	n, _ := r.Read(buf)
	d.status = string(buf[:n])
	if d.status != "0\n" {
		rest, _ := io.ReadAll(r)
		d.status += string(rest)
	}
	return d
}

// exit waits for the child to exit and returns its status.
func (d *dockerProxy) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("docker-proxy did not exit")
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	return 0
}

// stop sends sig and checks for a clean exit.
func (d *dockerProxy) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	d.cmd.Process.Signal(sig)
	if code := d.exit(t); code != 0 {
		t.Fatalf("exit status %d after %v; want 0", code, sig)
	}
}

func dpArgs(proto string, host netip.AddrPort, backend netip.AddrPort, extra ...string) []string {
	return append([]string{"-proto", proto, "-host-ip", host.Addr().String(), "-host-port", fmt.Sprint(host.Port()),
		"-container-ip", backend.Addr().String(), "-container-port", fmt.Sprint(backend.Port())}, extra...)
}

// dpBoundTCP opens a listening socket as dockerd does (SO_REUSEADDR, IPv6
// sockets V6ONLY) and returns it as a file for fd 4.
func dpBoundTCP(t *testing.T, addr string) (*os.File, netip.AddrPort) {
	t.Helper()
	network := "tcp4"
	if strings.HasPrefix(addr, "[") {
		network = "tcp6" // V6ONLY
	}
	ln, err := net.Listen(network, addr) // Go sets SO_REUSEADDR
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	return f, dpAddrPort(ln.Addr())
}

// dpBoundUDP opens a UDP socket as dockerd does (IP_PKTINFO or
// IPV6_RECVPKTINFO) and returns it as a file for fd 4.
func dpBoundUDP(t *testing.T, addr string) (*os.File, netip.AddrPort) {
	t.Helper()
	network := "udp4"
	if strings.HasPrefix(addr, "[") {
		network = "udp6"
	}
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if network == "udp4" {
		err = ipv4.NewPacketConn(pc).SetControlMessage(ipv4.FlagDst, true)
	} else {
		err = ipv6.NewPacketConn(pc).SetControlMessage(ipv6.FlagDst, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	return f, dpAddrPort(pc.LocalAddr())
}

func dpAddrPort(a net.Addr) netip.AddrPort {
	ap := netip.MustParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// dpTCPEcho runs a TCP echo server (echo until EOF, then close).
func dpTCPEcho(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return dpAddrPort(ln.Addr())
}

// dpUDPEcho runs a UDP echo server.
func dpUDPEcho(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return dpAddrPort(pc.LocalAddr())
}

// dpCheckTCP checks an echo and both half-closes through the proxy.
func dpCheckTCP(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("hello"))
	got := make([]byte, 5)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	// Our FIN reaches the backend, whose echo of the rest and FIN come back.
	c.Write([]byte(" world"))
	c.CloseWrite()
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != " world" {
		t.Fatalf("after half-close: %q, %v", rest, err)
	}
}

// dpCheckUDP checks a UDP echo and the reply's source address.
func dpCheckUDP(t *testing.T, client string, to netip.AddrPort) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(client)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range []string{"ping", strings.Repeat("x", 60000)} {
		c.WriteToUDPAddrPort([]byte(msg), to)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 65535)
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("UDP echo via %v: %d bytes, %v", to, n, err)
		}
		if from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port()); from != to {
			t.Fatalf("reply from %v; want %v", from, to)
		}
	}
}

func TestDockerProxyListenFD(t *testing.T) {
	for _, tc := range []struct{ name, proto, bind, host, backendHost string }{
		{"tcp4", "tcp", "127.0.0.1:0", "127.0.0.1", "127.0.0.1"},
		{"tcp6", "tcp", "[::1]:0", "::1", "::1"},
		{"tcp6-to-ipv4-backend", "tcp", "[::1]:0", "::1", "127.0.0.1"},
		{"udp4-wildcard", "udp", "0.0.0.0:0", "127.0.0.2", "127.0.0.1"},
		{"udp6", "udp", "[::1]:0", "::1", "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var backend netip.AddrPort
			var f *os.File
			var bound netip.AddrPort
			if tc.proto == "tcp" {
				backend = dpTCPEcho(t, net.JoinHostPort(tc.backendHost, "0"))
				f, bound = dpBoundTCP(t, tc.bind)
			} else {
				backend = dpUDPEcho(t, net.JoinHostPort(tc.backendHost, "0"))
				f, bound = dpBoundUDP(t, tc.bind)
			}
			d := startDockerProxy(t, binary, dpArgs(tc.proto, bound, backend, "-use-listen-fd"), f, false)
			if d.status != "0\n" {
				t.Fatalf("start-up status %q", d.status)
			}
			to := netip.AddrPortFrom(netip.MustParseAddr(tc.host), bound.Port())
			if tc.proto == "tcp" {
				dpCheckTCP(t, to)
			} else {
				dpCheckUDP(t, net.JoinHostPort(tc.backendHost, "0"), to)
			}
			d.stop(t, syscall.SIGINT)
		})
	}
}

// TestDockerProxyOwnListener: without -use-listen-fd (older dockerd) the
// proxy binds the host address itself; SIGTERM stops it cleanly.
func TestDockerProxyOwnListener(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			backend, f, host := dpTCPEcho(t, "127.0.0.1:0"), (*os.File)(nil), netip.AddrPort{}
			if proto == "tcp" {
				f, host = dpBoundTCP(t, "127.0.0.1:0")
			} else {
				backend = dpUDPEcho(t, "127.0.0.1:0")
				f, host = dpBoundUDP(t, "127.0.0.1:0")
			}
			f.Close() // host is a port that was free
			d := startDockerProxy(t, binary, dpArgs(proto, host, backend), nil, false)
			if d.status != "0\n" {
				t.Fatalf("start-up status %q", d.status)
			}
			if proto == "tcp" {
				dpCheckTCP(t, host)
			} else {
				dpCheckUDP(t, "127.0.0.1:0", host)
			}
			d.stop(t, syscall.SIGTERM)
		})
	}
}

// TestDockerProxyBindFailure: a busy port is reported on fd 3 with the
// wording of docker-proxy (and compared with it when it is installed).
func TestDockerProxyBindFailure(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			var busy netip.AddrPort
			if proto == "tcp" {
				ln, err := net.Listen("tcp4", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				busy = dpAddrPort(ln.Addr())
			} else {
				pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				busy = dpAddrPort(pc.LocalAddr())
			}
			args := dpArgs(proto, busy, netip.MustParseAddrPort("127.0.0.1:80"))
			d := startDockerProxy(t, binary, args, nil, false)
			goErr := fmt.Sprintf("listen %s4 %s: bind: address already in use", proto, busy)
			if want := "1\nfailed to listen on " + busy.String() + ": " + goErr; d.status != want {
				t.Fatalf("status %q; want %q", d.status, want)
			}
			if code := d.exit(t); code != 1 {
				t.Fatalf("exit status %d; want 1", code)
			}
			if _, err := os.Stat("/usr/sbin/docker-proxy"); err != nil {
				return
			}
			// The reference (20.10 says the same without the "failed to
			// listen on" prefix that newer versions add).
			ref := startDockerProxy(t, "/usr/sbin/docker-proxy", args, nil, false)
			if !strings.HasPrefix(ref.status, "1\n") || !strings.HasSuffix(d.status, strings.TrimPrefix(ref.status, "1\n")) {
				t.Fatalf("reference docker-proxy said %q, we said %q", ref.status, d.status)
			}
		})
	}
}

func TestDockerProxyStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"sctp", dpArgs("sctp", netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("127.0.0.1:80")), "1\nunsupported protocol sctp"},
		{"host-port", []string{"-host-ip", "127.0.0.1", "-container-ip", "127.0.0.1", "-container-port", "80"}, "1\nfailed to listen on 127.0.0.1:-1: invalid port"},
		{"container-port", []string{"-host-ip", "127.0.0.1", "-host-port", "0", "-container-ip", "127.0.0.1"}, "1\ninvalid container port -1"},
		{"no-fd-4", append(dpArgs("tcp", netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("127.0.0.1:80")), "-use-listen-fd"),
			"1\n-use-listen-fd: fd 4 is not an inherited socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDockerProxy(t, binary, tc.args, nil, false)
			if d.status != tc.want {
				t.Fatalf("status %q; want %q", d.status, tc.want)
			}
			if code := d.exit(t); code != 1 {
				t.Fatalf("exit status %d; want 1", code)
			}
		})
	}
}

// TestDockerProxyBackendDown: the client's connection is accepted, then
// closed.
func TestDockerProxyBackendDown(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := dpAddrPort(ln.Addr())
	ln.Close()
	f, host := dpBoundTCP(t, "127.0.0.1:0")
	d := startDockerProxy(t, binary, dpArgs("tcp", host, down, "-use-listen-fd"), f, false)
	if d.status != "0\n" {
		t.Fatalf("start-up status %q", d.status)
	}
	c, err := net.Dial("tcp", host.String())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read: %d, %v; want EOF", n, err)
	}
	d.stop(t, syscall.SIGINT)
}

// TestDockerProxyBadFlags: usage on stderr, exit status 2, nothing on fd 3.
func TestDockerProxyBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"-host-ip", "1.2.3"}, {"-container-ip", ""}, {"-host-port", "x"}} {
		d := startDockerProxy(t, binary, args, nil, false)
		if code := d.exit(t); code != 2 || d.status != "" || !strings.Contains(d.stderr.String(), "Usage of docker-proxy") {
			t.Fatalf("%q: exit %d, fd 3 %q, stderr %q; want 2, nothing, usage", args, code, d.status, d.stderr.String())
		}
	}
}

// TestDockerProxySymlink: the binary run through a symlink named
// docker-proxy is the proxy; -v prints a version.
func TestDockerProxySymlink(t *testing.T) {
	link := filepath.Join(t.TempDir(), "docker-proxy")
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(link, "-version").Output()
	if err != nil || !strings.HasPrefix(string(out), "docker-proxy (switchyard) version ") {
		t.Fatalf("-version: %q, %v", out, err)
	}
	backend := dpTCPEcho(t, "127.0.0.1:0")
	f, host := dpBoundTCP(t, "127.0.0.1:0")
	d := startDockerProxy(t, link, dpArgs("tcp", host, backend, "-use-listen-fd"), f, false)
	if d.status != "0\n" {
		t.Fatalf("start-up status %q", d.status)
	}
	dpCheckTCP(t, host)
	d.stop(t, syscall.SIGTERM)
}

// TestDockerProxyNoStatusFD: without fd 3 it exits at once, as the
// 20.10 docker-proxy does.
func TestDockerProxyNoStatusFD(t *testing.T) {
	backend := dpTCPEcho(t, "127.0.0.1:0")
	d := startDockerProxy(t, binary, dpArgs("tcp", netip.MustParseAddrPort("127.0.0.1:0"), backend), nil, true)
	if code := d.exit(t); code != 1 || !strings.Contains(d.stderr.String(), "fd 3") {
		t.Fatalf("exit %d, stderr %q; want 1 and a word about fd 3", code, d.stderr.String())
	}
}
