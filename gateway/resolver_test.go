package gateway

import (
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/switchyard/switchyard/dns"
)

// TestResolverOnly serves DNS at the resolver's address to accepted
// sources only, without NAT.
func TestResolverOnly(t *testing.T) {
	resolver := netip.MustParseAddr("10.77.0.53")
	for _, tc := range []struct {
		name   string
		accept bool
	}{{"accepted peer", true}, {"refused peer", false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dns.New(dns.Config{Domain: "lan", ResolveNames: true})
			defer srv.Close()
			srv.SetRecords([]dns.Record{{Name: "web", Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.9")}}})
			g := mustGateway(t, Config{DNS: srv, DNSAddress: resolver, ResolverOnly: true,
				AcceptFrom: func(mac [6]byte) bool { return tc.accept && string(mac[:]) == string(peerMAC) }})
			defer g.Close()
			if g.NAT() != nil {
				t.Error("a resolver-only stack has a NAT")
			}
			p := newPeer(t, g)
			// On-link: the resolver is not the peer's router.
			onLink, _ := tcpip.NewSubnet(tcpip.AddrFrom4(subnet.Addr().As4()), tcpip.MaskFromBytes([]byte{255, 255, 255, 0}))
			p.s.SetRouteTable([]tcpip.Route{{Destination: onLink, NIC: 1}})
			dst := full(netip.AddrPortFrom(resolver, 53))
			c, err := gonet.DialUDP(p.s, nil, &dst, ipv4.ProtocolNumber)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			dc := &mdns.Conn{Conn: c}
			q := new(mdns.Msg)
			q.SetQuestion("web.lan.", mdns.TypeA)
			dc.WriteMsg(q)
			r, err := dc.ReadMsg()
			answered := err == nil && len(r.Answer) == 1 && r.Answer[0].(*mdns.A).A.String() == "10.77.0.9"
			if answered != tc.accept {
				t.Fatalf("answered %v (%v, %v), want %v", answered, r, err, tc.accept)
			}
		})
	}
}

// TestResolverOnlyConfig refuses resolver-only stacks without DNS or with
// DHCP or IPv6.
func TestResolverOnlyConfig(t *testing.T) {
	srv := dns.New(dns.Config{Domain: "lan"})
	defer srv.Close()
	for name, cfg := range map[string]Config{
		"no DNS": {},
		"DHCP":   {DNS: srv, DHCP: func([]byte) ([]byte, bool) { return nil, false }},
		"IPv6":   {DNS: srv, Subnet6: subnet6, Address6: gwAddr6},
	} {
		cfg.ResolverOnly, cfg.Subnet, cfg.Address, cfg.MAC = true, subnet, gwAddr, []byte{2, 0, 0, 0, 0, 1}
		if g, err := New(cfg); err == nil {
			g.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
