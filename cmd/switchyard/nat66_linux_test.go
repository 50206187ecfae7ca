package main

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// serveWho answers every TCP connection and UDP datagram to addr inside
// ns with the client's address as the server saw it.
func serveWho(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	if err := nsutil.Do(nstest.Path(ns), func() (err error) {
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(c.RemoteAddr().String()))
			c.Close()
		}
	}()
	go func() {
		b := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(from.String()), from)
		}
	}()
}

// askUDP sends a datagram from ns to addr and returns the answer.
func askUDP(ns, addr string) (string, error) {
	var c net.Conn
	if err := nsutil.Do(nstest.Path(ns), func() (err error) { c, err = net.Dial("udp", addr); return err }); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("who")); err != nil {
		return "", err
	}
	b := make([]byte, 200)
	n, err := c.Read(b)
	return string(b[:n]), err
}

// TestNAT66: an endpoint of a dual-stack network reaches an IPv6 server
// behind the host through the gateway's NAT66 (TCP, UDP, ICMPv6 echo),
// seen from the host's own address; the host's [::1] only with
// --allow-host-loopback; other networks' IPv6 addresses are refused.
func TestNAT66(t *testing.T) {
	h := newNetHost(t)
	if out, err := nstest.Exec(h.ns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"); err != nil {
		t.Fatal(err, out)
	}
	srv := nstest.NewNetns(t)
	var r [3]byte
	rand.Read(r[:])
	link := "syh" + hex.EncodeToString(r[:])
	must(t, "ip", "-n", h.ns, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", srv)
	must(t, "ip", "-n", h.ns, "addr", "add", "fd00:66:1::1/64", "dev", link, "nodad")
	must(t, "ip", "-n", h.ns, "link", "set", link, "up")
	must(t, "ip", "-n", srv, "addr", "add", "fd00:66:1::2/64", "dev", "eth0", "nodad")
	must(t, "ip", "-n", srv, "link", "set", "eth0", "up")
	serveWho(t, srv, "[fd00:66:1::2]:7061")
	serveWho(t, h.ns, "[::1]:7062")
	h.up()
	h.sy("network", "create", "ds", "--subnet", "10.208.1.0/24", "--subnet", "fd00:208:1::/64")
	h.sy("network", "create", "lo6", "--subnet", "10.208.2.0/24", "--subnet", "fd00:208:2::/64", "--allow-host-loopback")
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	h.sy("attach", "ds", a)
	h.sy("attach", "lo6", b)
	got, err := ask(a, "[fd00:66:1::2]:7061")
	if err != nil || !strings.HasPrefix(got, "[fd00:66:1::1]:") {
		t.Fatalf("TCP through NAT66: %q %v", got, err)
	}
	got, err = askUDP(a, "[fd00:66:1::2]:7061")
	if err != nil || !strings.HasPrefix(got, "[fd00:66:1::1]:") {
		t.Fatalf("UDP through NAT66: %q %v", got, err)
	}
	if out, err := nstest.Exec(a, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd00:66:1::2"); err != nil {
		t.Fatalf("ping -6 through NAT66: %v %s", err, out)
	}
	if got, err := ask(a, "[fd00:208:1::1]:7062"); err == nil {
		t.Fatalf("host [::1] reached without --allow-host-loopback: %q", got)
	}
	if got, err := ask(b, "[fd00:208:2::1]:7062"); err != nil || !strings.HasPrefix(got, "[::1]:") {
		t.Fatalf("host [::1] with --allow-host-loopback: %q %v", got, err)
	}
	serveWho(t, b, "[fd00:208:2::2]:7063")
	if got, err := ask(a, "[fd00:208:2::2]:7063"); err == nil {
		t.Fatalf("another network reached through NAT66: %q", got)
	}
	ct := h.sy("conntrack", "ds")
	if !strings.Contains(ct, "fd00:66:1::2") {
		t.Fatalf("conntrack shows no IPv6 flow:\n%s", ct)
	}
}

// TestPublishIPv6KeepsClient: a port published on an IPv6 host address
// reaches a dual-stack endpoint's IPv6 address by the userspace path and
// the endpoint sees the IPv6 client's own address; a host-local [::1]
// client is seen as the gateway's IPv6 address; IPv4 clients still reach
// the IPv4 address.
func TestPublishIPv6KeepsClient(t *testing.T) {
	h := newNetHost(t)
	cl := nstest.NewNetns(t)
	var r [3]byte
	rand.Read(r[:])
	link := "syh" + hex.EncodeToString(r[:])
	must(t, "ip", "-n", h.ns, "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", cl)
	must(t, "ip", "-n", h.ns, "addr", "add", "fd00:66:2::1/64", "dev", link, "nodad")
	must(t, "ip", "-n", h.ns, "addr", "add", "10.66.2.1/24", "dev", link)
	must(t, "ip", "-n", h.ns, "link", "set", link, "up")
	must(t, "ip", "-n", cl, "addr", "add", "fd00:66:2::2/64", "dev", "eth0", "nodad")
	must(t, "ip", "-n", cl, "addr", "add", "10.66.2.2/24", "dev", "eth0")
	must(t, "ip", "-n", cl, "link", "set", "eth0", "up")
	h.up()
	h.sy("network", "create", "ds", "--subnet", "10.208.3.0/24", "--subnet", "fd00:208:3::/64")
	web := nstest.NewNetns(t)
	h.sy("attach", "ds", web, "--name", "web")
	serveWho(t, web, ":80")
	h.sy("publish", "ds", "[fd00:66:2::1]:8086:web:80", "--path", "userspace")
	h.sy("publish", "ds", "[::1]:8087:web:80", "--path", "userspace")
	h.sy("publish", "ds", "10.66.2.1:8088:web:80", "--path", "userspace")
	for _, tc := range []struct{ ns, addr, want string }{
		{cl, "[fd00:66:2::1]:8086", "[fd00:66:2::2]:"},
		{h.ns, "[::1]:8087", "[fd00:208:3::1]:"},
		{cl, "10.66.2.1:8088", "10.66.2.2:"},
	} {
		got, err := ask(tc.ns, tc.addr)
		if err != nil || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s from %s: endpoint saw %q (%v), want %s...", tc.addr, tc.ns, got, err, tc.want)
		}
	}
}
