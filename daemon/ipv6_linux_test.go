package daemon_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

func ping6(ns, ip string) error {
	_, err := nstest.Exec(ns, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", ip)
	return err
}

func addr6Of(t *testing.T, prefix string) string {
	t.Helper()
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		t.Fatalf("address %q: %v", prefix, err)
	}
	return p.Addr().String()
}

// dualStack creates a dual-stack network on l.
func (l *live) dualStack(name, subnet, subnet6 string) api.Network {
	l.t.Helper()
	n, err := l.c.CreateNetwork(context.Background(), api.NetworkCreate{Name: name, Subnet: subnet, Subnet6: subnet6})
	if err != nil {
		l.t.Fatal(err)
	}
	return n
}

// TestDualStackPingAndTCP: two endpoints of a dual-stack network get
// IPv6 addresses from its pool (lowest free, or --ip6), a default route
// via the gateway's IPv6 address, reach each other and the gateway over
// IPv6 (ping -6, TCP), and listings show the IPv6 fields.
func TestDualStackPingAndTCP(t *testing.T) {
	l := startDaemon(t)
	n := l.dualStack("ds", "10.207.1.0/24", "fd00:207:1::/64")
	if n.Subnet6 != "fd00:207:1::/64" || n.Gateway6 != "fd00:207:1::1" {
		t.Fatalf("network %+v", n)
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	epA := l.attach("ds", a, "")
	epB, err := l.c.Attach(context.Background(), "ds", api.EndpointCreate{Netns: b, IP6: "fd00:207:1::20"})
	if err != nil {
		t.Fatal(err)
	}
	if epA.IP6 != "fd00:207:1::2/64" || epB.IP6 != "fd00:207:1::20/64" {
		t.Fatalf("IPv6 addresses %q %q", epA.IP6, epB.IP6)
	}
	for _, dst := range []string{"fd00:207:1::20", "fd00:207:1::1"} {
		if err := ping6(a, dst); err != nil {
			t.Fatalf("ping -6 %s from %s: %v", dst, a, err)
		}
	}
	tcpExchange(t, a, b, "[fd00:207:1::20]:5003", 4<<20)
	out, err := nstest.Exec(a, "ip", "-6", "route", "show", "default")
	if err != nil || !strings.Contains(out, "via fd00:207:1::1 dev eth0") {
		t.Fatalf("IPv6 default route: %q %v", out, err)
	}
	if out, _ := nstest.Exec(a, "cat", "/proc/sys/net/ipv6/conf/eth0/accept_ra"); out != "0" {
		t.Fatalf("accept_ra %q on a statically configured endpoint", out)
	}
	eps, err := l.c.Endpoints(context.Background(), "ds")
	if err != nil || len(eps) != 2 || eps[0].IP6 == "" || eps[1].IP6 == "" {
		t.Fatalf("endpoints %+v %v", eps, err)
	}
	js, _ := json.Marshal(eps[0])
	if !strings.Contains(string(js), `"ip6":"fd00:207:1::`) {
		t.Fatalf("endpoint JSON %s", js)
	}
	nets := l.d.Networks()
	for _, x := range nets {
		js, _ := json.Marshal(x)
		if !strings.Contains(string(js), `"subnet6":`) || !strings.Contains(string(js), `"gateway6":`) {
			t.Fatalf("network JSON without IPv6 fields: %s", js)
		}
	}
}

// TestDualStackIPAMRules: --ip6 outside the subnet, on an IPv4-only
// network, with --dhcp or taken is refused without leaving anything
// behind; a detached endpoint's address is handed out again.
func TestDualStackIPAMRules(t *testing.T) {
	l := startDaemon(t)
	l.dualStack("ds", "10.207.2.0/24", "fd00:207:2::/120")
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	epA, err := l.c.Attach(context.Background(), "ds", api.EndpointCreate{Netns: a, IP6: "fd00:207:2::9"})
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		network string
		req     api.EndpointCreate
		want    string
	}{
		{"ds", api.EndpointCreate{Netns: b, IP6: "fd00:207:2::9"}, "already in use"},
		{"ds", api.EndpointCreate{Netns: b, IP6: "fd00:207:3::9"}, "outside"},
		{"ds", api.EndpointCreate{Netns: b, IP6: "10.207.2.9"}, "bad IPv6"},
		{"ds", api.EndpointCreate{Netns: b, IP6: "fd00:207:2::1"}, "in use"}, // the gateway
		{"ds", api.EndpointCreate{Netns: b, IP6: "fd00:207:2::"}, "in use"},  // subnet-router anycast
		{"ds", api.EndpointCreate{Netns: b, IP6: "fd00:207:2::30", DHCP: true}, "exclude"},
		{"default", api.EndpointCreate{Netns: b, IP6: "fd00:207:2::30"}, "no IPv6 subnet"},
	}
	for _, tc := range bad {
		_, err := l.c.Attach(context.Background(), tc.network, tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("attach %+v: %v, want %q", tc.req, err, tc.want)
		}
	}
	if out, err := nstest.Exec(b, "ip", "link", "show", "eth0"); err == nil {
		t.Fatalf("a refused attach left eth0: %s", out)
	}
	epB := l.attach("ds", b, "")
	if epB.IP6 != "fd00:207:2::2/120" {
		t.Fatalf("lowest free IPv6 address %q", epB.IP6)
	}
	if err := l.c.Detach(context.Background(), "ds", epA.Name); err != nil {
		t.Fatal(err)
	}
	c := nstest.NewNetns(t)
	epC, err := l.c.Attach(context.Background(), "ds", api.EndpointCreate{Netns: c, IP6: "fd00:207:2::9"})
	if err != nil || epC.IP6 != "fd00:207:2::9/120" {
		t.Fatalf("released address not reusable: %+v %v", epC, err)
	}
}

// TestNetworkCreateIPv6: --ipv6 picks a unique local /64; bad IPv6
// subnets and gateways and overlapping IPv6 subnets are refused.
func TestNetworkCreateIPv6(t *testing.T) {
	l := startDaemon(t)
	ctx := context.Background()
	n, err := l.c.CreateNetwork(ctx, api.NetworkCreate{Name: "ula", Subnet: "10.207.3.0/24", IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := netip.ParsePrefix(n.Subnet6)
	if err != nil || p.Bits() != 64 || p.Addr().As16()[0] != 0xfd || n.Gateway6 != p.Addr().Next().String() {
		t.Fatalf("--ipv6 network %+v", n)
	}
	l.dualStack("six", "10.207.4.0/24", "fd00:207:4::/64")
	bad := []struct {
		req  api.NetworkCreate
		want string
	}{
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Subnet6: "fd00:207:4:0:1::/80"}, "overlaps"},
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Subnet6: "fd00:207:5::1/64"}, "host bits"},
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Subnet6: "fe80::/64"}, "link-local"},
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Subnet6: "10.0.0.0/8"}, "not an IPv6"},
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Subnet6: "fd00:207:5::/64", Gateway6: "fd00:207:6::1"}, "outside"},
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Gateway6: "fd00:207:6::1"}, "needs an IPv6 subnet"},
		{api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24", Subnet6: "fd00:207:5::/64", Driver: api.DriverOverlay}, "not supported"},
	}
	for _, tc := range bad {
		_, err := l.c.CreateNetwork(ctx, tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create %+v: %v, want %q", tc.req, err, tc.want)
		}
	}
	if _, err := l.c.CreateNetwork(ctx, api.NetworkCreate{Name: "x", Subnet: "10.207.5.0/24"}); err != nil {
		t.Fatalf("nothing half-created: %v", err)
	}
}

// TestDualStackDHCPSLAAC: a --dhcp endpoint configures its IPv6 address
// by SLAAC from the gateway's router advertisements: the address attach
// reported, a default route via the gateway, and ping -6 works.
func TestDualStackDHCPSLAAC(t *testing.T) {
	l := startDaemon(t)
	l.dualStack("ds", "10.207.6.0/24", "fd00:207:6::/64")
	a := nstest.NewNetns(t)
	ep, err := l.c.Attach(context.Background(), "ds", api.EndpointCreate{Netns: a, DHCP: true})
	if err != nil {
		t.Fatal(err)
	}
	want := addr6Of(t, ep.IP6)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := nstest.Exec(a, "ip", "-6", "addr", "show", "dev", "eth0", "scope", "global")
		if strings.Contains(out, want+"/64") && !strings.Contains(out, "tentative") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SLAAC address %s never configured: %s", want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := ping6(a, "fd00:207:6::1"); err != nil {
		t.Fatalf("ping -6 the gateway: %v", err)
	}
	out, err := nstest.Exec(a, "ip", "-6", "route", "show", "default")
	if err != nil || !strings.Contains(out, "via fe80::") {
		t.Fatalf("no default route from the router advertisement: %q %v", out, err)
	}
}

// TestUpSubnet6 makes the built-in default network dual-stack.
func TestUpSubnet6(t *testing.T) {
	def := daemon.DefaultNetwork
	def.Subnet, def.Gateway, def.Subnet6 = "10.207.7.0/24", "", "fd00:207:7::/64"
	l := startDaemonWith(t, daemon.Config{Networks: []daemon.NetworkConfig{def}})
	a := nstest.NewNetns(t)
	ep := l.attach("default", a, "")
	if ep.IP6 != "fd00:207:7::2/64" {
		t.Fatalf("endpoint %+v", ep)
	}
	if err := ping6(a, "fd00:207:7::1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.c.CreateNetwork(context.Background(), api.NetworkCreate{Name: "x", Subnet: "10.207.8.0/24", Subnet6: "fd00:207:7::/64"}); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Fatalf("overlap with the default network: %v", err)
	}
}

// query6 asks the DNS server at server (host:port) from inside ns.
func query6(t *testing.T, ns, server, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	var r *mdns.Msg
	err := nsutil.Do(nstest.Path(ns), func() (err error) {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(name), qtype)
		c := &mdns.Client{Timeout: 2 * time.Second}
		r, _, err = c.Exchange(m, server)
		return err
	})
	if err != nil {
		t.Fatalf("query %s %s at %s from %s: %v", name, mdns.TypeToString[qtype], server, ns, err)
	}
	return r
}

// TestDualStackDNS: the gateway's DNS answers on its IPv6 address too,
// with AAAA records for endpoint names and aliases and ip6.arpa PTR
// records for their IPv6 addresses.
func TestDualStackDNS(t *testing.T) {
	l := startDaemon(t)
	l.dualStack("ds", "10.207.9.0/24", "fd00:207:9::/64")
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	l.attach("ds", a, "")
	epB, err := l.c.Attach(context.Background(), "ds", api.EndpointCreate{Netns: b, Name: "web", Aliases: []string{"www"}, IP6: "fd00:207:9::80"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "www", "web.ds"} {
		r := query6(t, a, "[fd00:207:9::1]:53", name, mdns.TypeAAAA)
		if len(r.Answer) != 1 || r.Answer[0].(*mdns.AAAA).AAAA.String() != "fd00:207:9::80" {
			t.Fatalf("AAAA %s: %v", name, r.Answer)
		}
	}
	r := query6(t, a, "[fd00:207:9::1]:53", "web", mdns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String()+"/24" != epB.IP {
		t.Fatalf("A web over IPv6: %v", r.Answer)
	}
	rev, _ := mdns.ReverseAddr("fd00:207:9::80")
	r = query6(t, a, "10.207.9.1:53", rev, mdns.TypePTR)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.PTR).Ptr != "web.ds." {
		t.Fatalf("PTR %s: %v", rev, r.Answer)
	}
}

// TestDualStackDefaultRouteMoves: when the endpoint carrying a
// namespace's default routes detaches, the IPv6 default route moves to
// the namespace's other dual-stack network with the IPv4 one.
func TestDualStackDefaultRouteMoves(t *testing.T) {
	l := startDaemon(t)
	l.dualStack("one", "10.207.10.0/24", "fd00:207:10::/64")
	l.dualStack("two", "10.207.11.0/24", "fd00:207:11::/64")
	m := nstest.NewNetns(t)
	e1 := l.attach("one", m, "")
	if _, err := l.c.Attach(context.Background(), "two", api.EndpointCreate{Netns: m, Name: "m2"}); err != nil {
		t.Fatal(err)
	}
	if out, _ := nstest.Exec(m, "ip", "-6", "route", "show", "default"); !strings.Contains(out, "via fd00:207:10::1") || strings.Contains(out, "fd00:207:11::1") {
		t.Fatalf("IPv6 default routes before: %q", out)
	}
	if err := l.c.Detach(context.Background(), "one", e1.Name); err != nil {
		t.Fatal(err)
	}
	if out, _ := nstest.Exec(m, "ip", "-6", "route", "show", "default"); !strings.Contains(out, "via fd00:207:11::1 dev eth1") {
		t.Fatalf("IPv6 default route after detach: %q", out)
	}
	if err := ping6(m, "fd00:207:11::1"); err != nil {
		t.Fatal(err)
	}
}
