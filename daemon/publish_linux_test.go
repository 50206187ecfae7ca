package daemon_test

import (
	"context"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// whoami serves TCP on addr inside ns: it answers each connection with the
// client address it sees.
func whoami(t *testing.T, ns, addr string) {
	t.Helper()
	ln, _ := listenIn(t, ns, "tcp", addr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			c.Write([]byte(host))
			c.Close()
		}
	}()
}

// askWho connects (from ns, or the host when ns is empty) and returns the
// address the endpoint saw, or an error.
func askWho(ns, addr string) (string, error) {
	var c net.Conn
	var err error
	if ns == "" {
		c, err = net.DialTimeout("tcp", addr, 3*time.Second)
	} else {
		c, err = dialIn(ns, "tcp", addr)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	if err == nil && len(b) == 0 {
		err = io.ErrUnexpectedEOF
	}
	return string(b), err
}

// webEndpoint attaches a new namespace to the default network as endpoint
// "web" and returns the namespace and its address.
func webEndpoint(t *testing.T, l *live) (ns, ip string) {
	t.Helper()
	ns = nstest.NewNetns(t)
	ep, err := l.c.Attach(context.Background(), "default", api.EndpointCreate{Netns: ns, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	return ns, strings.Split(ep.IP, "/")[0]
}

// hostHasIPv6 reports whether the host can listen on [::1].
func hostHasIPv6() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func publish(t *testing.T, l *live, spec, path string) {
	t.Helper()
	if _, err := l.c.Publish(context.Background(), "default", api.PublishRequest{Spec: spec, Path: path}); err != nil {
		t.Fatalf("publish %s --path %s: %v", spec, path, err)
	}
}

func TestPublishBothPaths(t *testing.T) {
	nstest.RequireNetAdmin(t)
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.Skip(t, "needs nft to delete the DNAT rule by hand")
	}
	l := startDaemon(t)
	web, webIP := webEndpoint(t, l)
	for _, port := range []string{"80", "81", "82", "83", "84"} {
		whoami(t, web, webIP+":"+port)
	}
	client, clientIP := remoteHost(t, "10.210.0")
	hostIP := "10.210.0.1" // the host's address on the client's link

	publish(t, l, "18080:web:80", api.PathBoth)
	who, err := askWho(client, hostIP+":18080")
	if err != nil || !strings.HasPrefix(who, "10.90.0.") || who == "10.90.0.1" {
		t.Fatalf("kernel path: endpoint saw %q (%v), want the host port's address in 10.90.0.0/24", who, err)
	}
	if who, err := askWho("", "127.0.0.1:18080"); err != nil || who != "10.90.0.1" {
		t.Fatalf("host-local client through the proxy: endpoint saw %q (%v), want the gateway 10.90.0.1", who, err)
	}
	// IPv6 clients reach it through the proxy's [::] listener (the
	// endpoint sees the gateway: its network is IPv4).
	if hostHasIPv6() {
		if who, err := askWho("", "[::1]:18080"); err != nil || who != "10.90.0.1" {
			t.Fatalf("IPv6 client through the proxy: endpoint saw %q (%v), want the gateway 10.90.0.1", who, err)
		}
	}
	// Delete the DNAT rules by hand: the proxy still answers, and the
	// endpoint now sees the real client.
	if out, err := exec.Command("nft", "flush", "chain", "ip", l.d.RulesTable(), "prerouting").CombinedOutput(); err != nil {
		t.Fatalf("nft flush: %v %s", err, out)
	}
	if who, err := askWho(client, hostIP+":18080"); err != nil || who != clientIP {
		t.Fatalf("without DNAT: endpoint saw %q (%v), want the client %s", who, err, clientIP)
	}

	// Stop the userspace path of a `both` mapping (as if docker-proxy
	// died): DNAT alone still answers external clients.
	publish(t, l, "18083:web:83", api.PathBoth)
	if err := l.d.StopUserspacePath("default", "18083:web:83"); err != nil {
		t.Fatal(err)
	}
	if who, err := askWho(client, hostIP+":18083"); err != nil || !strings.HasPrefix(who, "10.90.0.") || who == "10.90.0.1" {
		t.Fatalf("both, userspace path stopped: endpoint saw %q (%v), want the host port's address", who, err)
	}
	// An IPv6 host address: `both` is served by the userspace path, and
	// says so.
	if hostHasIPv6() {
		p, err := l.c.Publish(context.Background(), "default", api.PublishRequest{Spec: "[::1]:18084:web:84"})
		if err != nil || p.Path != api.PathUserspace || p.Note == "" {
			t.Fatalf("publish [::1]:18084: %+v %v; want the userspace path with a note", p, err)
		}
		if who, err := askWho("", "[::1]:18084"); err != nil || who != "10.90.0.1" {
			t.Fatalf("[::1]:18084: endpoint saw %q (%v)", who, err)
		}
	}

	// Kernel path alone answers external clients; nothing listens for
	// host-local loopback clients.
	publish(t, l, "18081:web:81", api.PathKernel)
	if who, err := askWho(client, hostIP+":18081"); err != nil || who == "" {
		t.Fatalf("kernel path alone: %q %v", who, err)
	}
	if _, err := askWho("", "127.0.0.1:18081"); err == nil {
		t.Fatal("a kernel-only port answered on 127.0.0.1")
	}
	// Userspace path alone: the endpoint sees the client.
	publish(t, l, "18082:web:82", api.PathUserspace)
	if who, err := askWho(client, hostIP+":18082"); err != nil || who != clientIP {
		t.Fatalf("userspace path: endpoint saw %q (%v), want %s", who, err, clientIP)
	}
	ports, _ := l.c.Ports(context.Background())
	if want := 4 + map[bool]int{true: 1}[hostHasIPv6()]; len(ports) != want {
		t.Fatalf("ports: %+v", ports)
	}
	if err := l.c.Unpublish(context.Background(), "default", "18082:web:82"); err != nil {
		t.Fatal(err)
	}
	if _, err := askWho(client, hostIP+":18082"); err == nil {
		t.Fatal("unpublished port still answers")
	}
	l.stop()
	if out, _ := exec.Command("nft", "list", "tables").CombinedOutput(); strings.Contains(string(out), l.d.RulesTable()) {
		t.Fatalf("nftables table left after shutdown:\n%s", out)
	}
}

func TestPublishRangeInOneProcess(t *testing.T) {
	l := startDaemon(t)
	web, webIP := webEndpoint(t, l)
	whoami(t, web, webIP+":31000")
	whoami(t, web, webIP+":31999")
	publish(t, l, "127.0.0.1:21000-21999:web:31000-31999", api.PathUserspace)
	for _, port := range []string{"21000", "21999"} {
		if who, err := askWho("", "127.0.0.1:"+port); err != nil || who != "10.90.0.1" {
			t.Fatalf("port %s of the range: %q %v", port, who, err)
		}
	}
	// The 1000 listeners are this process's sockets.
	if err := l.c.Unpublish(context.Background(), "default", "127.0.0.1:21000-21999:web:31000-31999"); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:21500", time.Second); err == nil {
		c.Close()
		t.Fatal("port of an unpublished range still listens")
	}
}

func TestPublishBadInput(t *testing.T) {
	l := startDaemon(t)
	for _, tc := range []struct{ spec, path, msg string }{
		{"80:ghost:80", "", "no endpoint"},
		{"80:web", "", "want [HOSTIP:]"},
		{"80:10.99.0.1:80", "", "outside the subnet"},
		{"80:10.90.0.5:80", "sideways", "path"},
	} {
		_, err := l.c.Publish(context.Background(), "default", api.PublishRequest{Spec: tc.spec, Path: tc.path})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("publish %s: %v, want %q", tc.spec, err, tc.msg)
		}
	}
}

// TestPublishWithoutKernelPath: with the kernel path unavailable, `both`
// falls back to the userspace path alone (and says so) and `kernel` is
// refused; no nftables table appears.
func TestPublishWithoutKernelPath(t *testing.T) {
	l := startDaemonWith(t, daemon.Config{DisableKernelPath: true})
	web, webIP := webEndpoint(t, l)
	whoami(t, web, webIP+":80")
	client, clientIP := remoteHost(t, "10.211.0")
	p, err := l.c.Publish(context.Background(), "default", api.PublishRequest{Spec: "18090:web:80"})
	if err != nil || p.Path != api.PathUserspace || !strings.Contains(p.Note, "kernel path") {
		t.Fatalf("publish both: %+v %v; want the userspace path with a note", p, err)
	}
	if who, err := askWho(client, "10.211.0.1:18090"); err != nil || who != clientIP {
		t.Fatalf("userspace fallback: endpoint saw %q (%v), want %s", who, err, clientIP)
	}
	if _, err := l.c.Publish(context.Background(), "default", api.PublishRequest{Spec: "18091:web:80", Path: api.PathKernel}); err == nil {
		t.Fatal("--path kernel accepted with the kernel path disabled")
	}
	if ports, _ := l.c.Ports(context.Background()); len(ports) != 1 {
		t.Fatalf("ports after a refused publish: %+v", ports)
	}
	if l.d.RulesOpen() {
		t.Fatal("nftables table opened with the kernel path disabled")
	}
}

// whoamiUDP answers each datagram on addr inside ns with the source
// address it came from.
func whoamiUDP(t *testing.T, ns, addr string) {
	t.Helper()
	_, pc := listenIn(t, ns, "udp", addr)
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			pc.WriteTo([]byte(host), from)
		}
	}()
}

// askWhoUDP sends datagrams to addr (from ns, or the host when ns is
// empty) until one is answered, and returns the answer.
func askWhoUDP(ns, addr string) (string, error) {
	var c net.Conn
	var err error
	if ns == "" {
		c, err = net.Dial("udp", addr)
	} else {
		c, err = dialIn(ns, "udp", addr)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 1500)
	for range 5 {
		c.Write([]byte("who?"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		var n int
		if n, err = c.Read(buf); err == nil {
			return string(buf[:n]), nil
		}
	}
	return "", err
}

// TestPublishUDP: a UDP port on each path, and the source address the
// endpoint sees on each.
func TestPublishUDP(t *testing.T) {
	l := startDaemon(t)
	web, webIP := webEndpoint(t, l)
	for _, port := range []string{"95", "96", "97"} {
		whoamiUDP(t, web, webIP+":"+port)
	}
	client, clientIP := remoteHost(t, "10.212.0")
	hostIP := "10.212.0.1"

	publish(t, l, "18095:web:95/udp", api.PathUserspace)
	if who, err := askWhoUDP(client, hostIP+":18095"); err != nil || who != clientIP {
		t.Fatalf("UDP userspace path: endpoint saw %q (%v), want the client %s", who, err, clientIP)
	}
	// ports shows the mapping's flow table counters.
	ps, err := l.c.Ports(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Proxy == nil || ps[0].Proxy.Active != 1 || ps[0].Proxy.Accepted != 1 || ps[0].Proxy.DatagramsIn < 1 {
		t.Fatalf("ports after one UDP flow: %+v", ps)
	}
	publish(t, l, "18096:web:96/udp", api.PathKernel)
	if who, err := askWhoUDP(client, hostIP+":18096"); err != nil || !strings.HasPrefix(who, "10.90.0.") || who == "10.90.0.1" {
		t.Fatalf("UDP kernel path: endpoint saw %q (%v), want the host port's address", who, err)
	}
	publish(t, l, "18097:web:97/udp", api.PathBoth)
	if who, err := askWhoUDP("", "127.0.0.1:18097"); err != nil || who != "10.90.0.1" {
		t.Fatalf("UDP from the host's loopback: endpoint saw %q (%v), want the gateway", who, err)
	}
}
