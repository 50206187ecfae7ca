package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nat"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// remoteHost makes a namespace reachable only from the host: a veth pair
// between the root namespace (prefix .1) and it (.2, default route via
// .1). It returns the namespace name and its address.
func remoteHost(t *testing.T, prefix string) (string, string) {
	t.Helper()
	ns := nstest.NewNetns(t)
	var b [3]byte
	rand.Read(b[:])
	host := "syr" + hex.EncodeToString(b[:])
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	run("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns)
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	run("ip", "addr", "add", prefix+".1/30", "dev", host)
	run("ip", "link", "set", host, "up")
	run("ip", "-n", ns, "addr", "add", prefix+".2/30", "dev", "eth0")
	run("ip", "-n", ns, "link", "set", "eth0", "up")
	run("ip", "-n", ns, "route", "add", "default", "via", prefix+".1")
	return ns, prefix + ".2"
}

// listenIn opens a listener inside a namespace.
func listenIn(t *testing.T, ns, network, addr string) (ln net.Listener, pc net.PacketConn) {
	t.Helper()
	err := nsutil.Do(nstest.Path(ns), func() (err error) {
		if network == "udp" {
			pc, err = net.ListenPacket("udp", addr)
		} else {
			ln, err = net.Listen("tcp", addr)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ln != nil {
			ln.Close()
		}
		if pc != nil {
			pc.Close()
		}
	})
	return ln, pc
}

func dialIn(ns, network, addr string) (c net.Conn, err error) {
	err = nsutil.Do(nstest.Path(ns), func() (err error) {
		c, err = net.DialTimeout(network, addr, 5*time.Second)
		return err
	})
	return c, err
}

func TestGatewayAnswersPing(t *testing.T) {
	l := startDaemon(t)
	a := nstest.NewNetns(t)
	l.attach("default", a, "")
	if err := ping(a, "10.90.0.1"); err != nil {
		t.Fatalf("ping gateway: %v", err)
	}
}

func TestNATTCPAndUDP(t *testing.T) {
	l := startDaemon(t)
	a := nstest.NewNetns(t)
	l.attach("default", a, "")
	remote, ip := remoteHost(t, "10.203.7")

	// TCP: the server sends 4 MiB and half-closes; the endpoint sends a
	// request and half-closes; both sides see all data and EOF.
	ln, _ := listenIn(t, remote, "tcp", ip+":8080")
	payload := make([]byte, 4<<20)
	rand.Read(payload)
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.Write(payload)
		c.(*net.TCPConn).CloseWrite()
		req, _ := io.ReadAll(c)
		got <- req
	}()
	c, err := dialIn(a, "tcp", ip+":8080")
	if err != nil {
		t.Fatalf("endpoint → remote through NAT: %v", err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	cts, _ := l.c.Conntrack(context.Background(), "default")
	if len(cts) != 1 || len(cts[0].Flows) != 1 || cts[0].Flows[0].Dest != ip+":8080" {
		t.Errorf("conntrack during the transfer: %+v", cts)
	}
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	data, err := io.ReadAll(c)
	c.Close()
	if err != nil || !bytesEqual(data, payload) {
		t.Fatalf("fetched %d bytes (%v), want %d identical", len(data), err, len(payload))
	}
	if req := <-got; string(req) != "hello" {
		t.Fatalf("server got %q after the endpoint's half-close", req)
	}

	// UDP echo.
	_, pc := listenIn(t, remote, "udp", ip+":5353")
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
	u, err := dialIn(a, "udp", ip+":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	big := make([]byte, 8000) // larger than the MTU: fragments both ways
	rand.Read(big)
	for _, msg := range [][]byte{[]byte("ping"), big} {
		u.SetDeadline(time.Now().Add(3 * time.Second))
		u.Write(msg)
		buf := make([]byte, 65535)
		n, err := u.Read(buf)
		if err != nil || !bytesEqual(buf[:n], msg) {
			t.Fatalf("UDP echo of %d bytes: got %d (%v)", len(msg), n, err)
		}
	}

	// A closed port: the endpoint gets a RST (connection refused).
	if _, err := dialIn(a, "tcp", ip+":8081"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want connection refused", err)
	}
}

func TestHostLoopback(t *testing.T) {
	nstest.RequireNetAdmin(t)
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostLn.Close()
	go func() {
		for {
			c, err := hostLn.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("host"))
			c.Close()
		}
	}()
	port := hostLn.Addr().(*net.TCPAddr).Port
	l := startDaemon(t)
	if _, err := l.c.CreateNetwork(context.Background(), api.NetworkCreate{Name: "open", Subnet: "10.204.0.0/24", AllowHostLoopback: true}); err != nil {
		t.Fatal(err)
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	l.attach("default", a, "")
	l.attach("open", b, "")
	target := func(gw string) string { return net.JoinHostPort(gw, itoa(port)) }
	if _, err := dialIn(a, "tcp", target("10.90.0.1")); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("host loopback from the default network: %v, want refused", err)
	}
	c, err := dialIn(b, "tcp", target("10.204.0.1"))
	if err != nil {
		t.Fatalf("host loopback with --allow-host-loopback: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if data, _ := io.ReadAll(c); string(data) != "host" {
		t.Fatalf("host loopback read %q", data)
	}
	// Networks stay isolated through the NAT: b cannot reach a's address.
	_, pc := listenIn(t, a, "tcp", "10.90.0.2:9000")
	_ = pc
	if c, err := dialIn(b, "tcp", "10.90.0.2:9000"); err == nil {
		c.Close()
		t.Fatal("an endpoint reached another network through the gateway")
	}
	cts, _ := l.c.Conntrack(context.Background(), "open")
	if cts[0].Stats.RefusedPolicy == 0 {
		t.Fatalf("policy refusals not counted: %+v", cts[0].Stats)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func itoa(n int) string { return strconv.Itoa(n) }

// setPingGroupRange sets net.ipv4.ping_group_range of the daemon's (root)
// namespace for the test and restores it afterwards.
func setPingGroupRange(t *testing.T, v string) {
	t.Helper()
	const path = "/proc/sys/net/ipv4/ping_group_range"
	old, err := os.ReadFile(path)
	if err != nil {
		nstest.Skipf(t, "ping_group_range: %v", err)
	}
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		nstest.Skipf(t, "set ping_group_range: %v", err)
	}
	t.Cleanup(func() { os.WriteFile(path, old, 0o644) })
}

func TestNATICMPEcho(t *testing.T) {
	for _, tc := range []struct {
		name    string
		groups  string
		replies bool
	}{{"ping sockets allowed", "0 2147483647", true}, {"ping sockets not allowed", "1 0", false}} {
		t.Run(tc.name, func(t *testing.T) {
			nstest.RequireNetAdmin(t)
			setPingGroupRange(t, tc.groups)
			l := startDaemon(t)
			a := nstest.NewNetns(t)
			l.attach("default", a, "")
			_, ip := remoteHost(t, "10.203.9")
			err := ping(a, ip)
			if tc.replies != (err == nil) {
				t.Fatalf("ping %s through the gateway: %v, want replies=%v", ip, err, tc.replies)
			}
			cts, _ := l.c.Conntrack(context.Background(), "default")
			st := cts[0].Stats
			if tc.replies && st.ICMPForwarded == 0 || !tc.replies && (!strings.HasSuffix(st.ICMPUnsupported, nat.PingFix) || st.ICMPDropped == 0) {
				t.Fatalf("ICMP stats: %+v", st)
			}
		})
	}
}
