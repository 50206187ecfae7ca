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

func publish(t *testing.T, l *live, spec, path string) {
	t.Helper()
	if _, err := l.c.Publish(context.Background(), "default", api.PublishRequest{Spec: spec, Path: path}); err != nil {
		t.Fatalf("publish %s --path %s: %v", spec, path, err)
	}
}

func TestPublishBothPaths(t *testing.T) {
	nstest.RequireNetAdmin(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft to delete the DNAT rule by hand")
	}
	l := startDaemon(t)
	web := nstest.NewNetns(t)
	ep, err := l.c.Attach(context.Background(), "default", api.EndpointCreate{Netns: web, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	webIP := strings.Split(ep.IP, "/")[0]
	for _, port := range []string{"80", "81", "82"} {
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
	// Delete the DNAT rules by hand: the proxy still answers, and the
	// endpoint now sees the real client.
	if out, err := exec.Command("nft", "flush", "chain", "ip", daemon.RulesTable, "prerouting").CombinedOutput(); err != nil {
		t.Fatalf("nft flush: %v %s", err, out)
	}
	if who, err := askWho(client, hostIP+":18080"); err != nil || who != clientIP {
		t.Fatalf("without DNAT: endpoint saw %q (%v), want the client %s", who, err, clientIP)
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
	if len(ports) != 3 {
		t.Fatalf("ports: %+v", ports)
	}
	if err := l.c.Unpublish(context.Background(), "default", "18082:web:82"); err != nil {
		t.Fatal(err)
	}
	if _, err := askWho(client, hostIP+":18082"); err == nil {
		t.Fatal("unpublished port still answers")
	}
	l.stop()
	if out, _ := exec.Command("nft", "list", "tables").CombinedOutput(); strings.Contains(string(out), daemon.RulesTable) {
		t.Fatalf("nftables table left after shutdown:\n%s", out)
	}
}

func TestPublishRangeInOneProcess(t *testing.T) {
	l := startDaemon(t)
	web := nstest.NewNetns(t)
	ep, err := l.c.Attach(context.Background(), "default", api.EndpointCreate{Netns: web, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	webIP := strings.Split(ep.IP, "/")[0]
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
