package daemon_test

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// fakeUpstream is a resolver on loopback answering every query with
// NXDOMAIN, standing in for the host's resolvers.
func fakeUpstream(t *testing.T) (resolvConf string, queries func() int) {
	t.Helper()
	// resolv.conf has no port syntax: listen on port 53 of a random
	// loopback address (127/8 is all loopback on Linux).
	var b [2]byte
	rand.Read(b[:])
	ip := net.IPv4(127, 53, b[0], b[1]|1).String()
	pc, err := net.ListenPacket("udp", ip+":53")
	if err != nil {
		t.Fatal(err)
	}
	n := make(chan struct{}, 1000)
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		n <- struct{}{}
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeNameError)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(rc, []byte("nameserver "+ip+"\n"), 0o644)
	return rc, func() int { return len(n) }
}

// lookup asks the gateway's DNS from inside a namespace.
func lookup(t *testing.T, ns, proto, server, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	c, err := dialIn(ns, proto, net.JoinHostPort(server, "53"))
	if err != nil {
		t.Fatalf("dial DNS %s/%s from %s: %v", server, proto, ns, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	dc := &mdns.Conn{Conn: c}
	q := new(mdns.Msg)
	q.SetQuestion(mdns.Fqdn(name), qtype)
	if err := dc.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	r, err := dc.ReadMsg()
	if err != nil {
		t.Fatalf("DNS %s %s from %s: %v", proto, name, ns, err)
	}
	return r
}

func answerA(r *mdns.Msg) string {
	for _, rr := range r.Answer {
		if a, ok := rr.(*mdns.A); ok {
			return a.A.String()
		}
	}
	return ""
}

func TestDNSNamesOnUserNetworksOnly(t *testing.T) {
	rc, upstreamQueries := fakeUpstream(t)
	l := startDaemonWith(t, daemon.Config{ResolvConf: rc})
	l.network("blue", "10.208.0.0/24", 0)
	a, b, c, d := nstest.NewNetns(t), nstest.NewNetns(t), nstest.NewNetns(t), nstest.NewNetns(t)
	epA, err := l.c.Attach(context.Background(), "blue", api.EndpointCreate{Netns: a, Name: "web", Aliases: []string{"www"}})
	if err != nil {
		t.Fatal(err)
	}
	epB := l.attach("blue", b, "")
	ipA, ipB := strings.Split(epA.IP, "/")[0], strings.Split(epB.IP, "/")[0]
	// Each resolves the other: a finds b by its default name (the netns's).
	if got := answerA(lookup(t, a, "udp", "10.208.0.1", b, mdns.TypeA)); got != ipB {
		t.Errorf("a resolving %s: %q, want %s", b, got, ipB)
	}
	for _, name := range []string{"web", "WWW", "web.blue"} {
		for _, proto := range []string{"udp", "tcp"} {
			if got := answerA(lookup(t, b, proto, "10.208.0.1", name, mdns.TypeA)); got != ipA {
				t.Errorf("%s over %s on the user network: %q, want %s", name, proto, got, ipA)
			}
		}
	}
	if r := lookup(t, b, "udp", "10.208.0.1", "nobody.blue", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Errorf("unknown name in the network's domain: rcode %d, want NXDOMAIN", r.Rcode)
	}
	before := upstreamQueries()
	if r := lookup(t, b, "udp", "10.208.0.1", "example.org", mdns.TypeA); r.Rcode != mdns.RcodeNameError || upstreamQueries() != before+1 {
		t.Errorf("outside name not forwarded to the host's resolver (rcode %d, upstream queries %d→%d)", r.Rcode, before, upstreamQueries())
	}

	// The default network does not resolve endpoint names (as docker0).
	l.attach("default", c, "")
	l.attach("default", d, "")
	if got := answerA(lookup(t, d, "udp", "10.90.0.1", c, mdns.TypeA)); got != "" {
		t.Errorf("default network resolved endpoint %s to %s", c, got)
	}
	// Names are per network: b's network does not see default's endpoints.
	if got := answerA(lookup(t, b, "udp", "10.208.0.1", c, mdns.TypeA)); got != "" {
		t.Errorf("name of another network's endpoint resolved to %s", got)
	}
	// Names follow detach at once.
	if err := l.c.Detach(context.Background(), "blue", "web"); err != nil {
		t.Fatal(err)
	}
	if got := answerA(lookup(t, b, "udp", "10.208.0.1", "web.blue", mdns.TypeA)); got != "" {
		t.Errorf("detached endpoint still resolves to %s", got)
	}
}

func TestDHCPWithUdhcpc(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		nstest.Skip(t, "needs busybox (udhcpc)")
	}
	l := startDaemon(t)
	l.network("blue", "10.209.0.0/24", 0)
	a := nstest.NewNetns(t)
	ep, err := l.c.Attach(context.Background(), "blue", api.EndpointCreate{Netns: a, DHCP: true, IP: "10.209.0.42"})
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := nstest.Exec(a, "ip", "-4", "addr", "show", "eth0"); strings.Contains(out, "inet ") {
		t.Fatalf("--dhcp endpoint configured before DHCP: %s", out)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	env := filepath.Join(dir, "env")
	os.WriteFile(script, []byte("#!/bin/sh\nif [ \"$1\" = bound ]; then\n  echo \"ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu domain=$domain\" > "+env+"\n"+
		"  ip addr add $ip/$mask dev $interface && ip route add default via $router\nfi\n"), 0o755)
	out, err := nstest.Exec(a, busybox, "udhcpc", "-i", "eth0", "-q", "-n", "-t", "5", "-T", "1", "-s", script)
	if err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(env)
	want := "ip=10.209.0.42 mask=24 router=10.209.0.1 dns=10.209.0.1 mtu=1500 domain=blue"
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("lease: %q\nwant   %q (endpoint %+v)", got, want, ep)
	}
	if err := ping(a, "10.209.0.1"); err != nil {
		t.Fatalf("ping the gateway after DHCP: %v", err)
	}
}
