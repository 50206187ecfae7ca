package daemon_test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestUplinkDNS gives an uplink network a resolver with --dns-addr: the
// endpoints resolve each other's names there over UDP and TCP, other names
// go to the host's resolvers, their resolv.conf names it, and a LAN host
// behind the uplink gets no answer from it (it serves the network's
// endpoints only). The address is never handed out.
func TestUplinkDNS(t *testing.T) {
	lan := nstest.NewNetns(t)
	parent, _ := hostVeth(t, lan)
	nstest.Run(t, lan, "ip", "addr", "add", "192.168.154.1/24", "dev", "eth0")
	nstest.Run(t, lan, "ip", "addr", "add", "192.168.154.2/24", "dev", "eth0")
	rc, upstreamQueries := fakeUpstream(t)
	l := startDaemonWith(t, daemon.Config{ResolvConf: rc})
	const dnsAddr = "192.168.154.130"
	n := l.uplinkNetwork(api.NetworkCreate{Name: "lan", Parent: parent, Subnet: "192.168.154.0/24",
		Gateway: "192.168.154.1", IPRange: "192.168.154.128/29", DNSAddr: dnsAddr})
	if !n.DNSNames || n.DNSAddr != dnsAddr || n.GatewayMAC != "" {
		t.Errorf("network %+v: want DNS names served at %s and no gateway MAC", n, dnsAddr)
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	epA := l.attachReq("lan", api.EndpointCreate{Netns: a, Name: "web", Aliases: []string{"www"}})
	epB := l.attachReq("lan", api.EndpointCreate{Netns: b, Name: "db"})
	for _, ep := range []api.Endpoint{epA, epB} {
		if addrOf(ep) == dnsAddr {
			t.Errorf("endpoint %s got the resolver's address", ep.Name)
		}
	}
	for _, proto := range []string{"udp", "tcp"} {
		if got := answerA(lookup(t, a, proto, dnsAddr, "db", mdns.TypeA)); got != addrOf(epB) {
			t.Errorf("a resolving db over %s: %q, want %s", proto, got, addrOf(epB))
		}
		if got := answerA(lookup(t, b, proto, dnsAddr, "www.lan", mdns.TypeA)); got != addrOf(epA) {
			t.Errorf("b resolving www.lan over %s: %q, want %s", proto, got, addrOf(epA))
		}
	}
	if r := lookup(t, a, "udp", dnsAddr, "example.org", mdns.TypeA); r.Rcode != mdns.RcodeNameError || upstreamQueries() == 0 {
		t.Errorf("example.org: rcode %d after %d upstream queries, want the upstream's NXDOMAIN", r.Rcode, upstreamQueries())
	}
	if err := ping(a, dnsAddr); err != nil {
		t.Errorf("ping the resolver: %v", err)
	}
	if conf, err := os.ReadFile(epA.ResolvConf); err != nil || !strings.Contains(string(conf), "nameserver "+dnsAddr+"\n") {
		t.Errorf("endpoint resolv.conf %s: %q, %v; want nameserver %s", epA.ResolvConf, conf, err, dnsAddr)
	}
	// The LAN host asks too: no answer (and no ARP reply either).
	if err := queryTimesOut(lan, dnsAddr, "db"); err != nil {
		t.Error(err)
	}
	if st := l.networkStats("lan"); st.DNS.Queries == 0 {
		t.Errorf("DNS stats %+v: queries not counted", st.DNS)
	}
}

// queryTimesOut asks server for name from ns and returns an error unless
// no answer comes within a second.
func queryTimesOut(ns, server, name string) error {
	c, err := dialIn(ns, "udp", net.JoinHostPort(server, "53"))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	dc := &mdns.Conn{Conn: c}
	q := new(mdns.Msg)
	q.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
	if err := dc.WriteMsg(q); err != nil {
		return nil // no route, no ARP answer: refused before it left
	}
	if r, err := dc.ReadMsg(); err == nil {
		return fmt.Errorf("the resolver answered %s, a LAN host: %v", ns, r)
	}
	return nil
}
