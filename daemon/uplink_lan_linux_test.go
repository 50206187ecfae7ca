package daemon_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestUplinkLAN puts a veth in the daemon's namespace as the NIC, its peer
// in a "LAN" namespace holding the router (.1) and a LAN host (.2). The
// endpoints get addresses of --ip-range only (never the aux address),
// the router as default route, and reach the LAN host and each other by
// ping and TCP (super-frames both ways); the LAN host reaches them.
func TestUplinkLAN(t *testing.T) {
	lan := nstest.NewNetns(t)
	parent, _ := hostVeth(t, lan)
	for _, a := range []string{"192.168.150.1/24", "192.168.150.2/24"} {
		if out, err := nstest.Exec(lan, "ip", "addr", "add", a, "dev", "eth0"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	l := startDaemon(t)
	n := l.uplinkNetwork(api.NetworkCreate{Name: "lan", Parent: parent, Subnet: "192.168.150.0/24",
		Gateway: "192.168.150.1", IPRange: "192.168.150.128/30", AuxAddresses: []string{"192.168.150.129"}})
	if n.Driver != api.DriverUplink || n.Parent != parent || n.DHCP || n.DNSNames {
		t.Errorf("network %+v: want driver uplink on %s without DHCP or DNS", n, parent)
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	epA, epB := l.attachReq("lan", api.EndpointCreate{Netns: a}), l.attachReq("lan", api.EndpointCreate{Netns: b})
	for _, ep := range []api.Endpoint{epA, epB} {
		ip := addrOf(ep)
		if !ipInRange(ip, "192.168.150.128", "192.168.150.131") || ip == "192.168.150.129" {
			t.Errorf("endpoint address %s: want one of --ip-range 192.168.150.128/30 but not the aux address", ip)
		}
	}
	if out, _ := nstest.Exec(a, "ip", "route", "show", "default"); !strings.Contains(out, "via 192.168.150.1 ") {
		t.Errorf("default route in the endpoint: %q, want via the LAN router", out)
	}
	for _, c := range []struct{ from, to string }{
		{a, "192.168.150.2"}, {a, "192.168.150.1"}, {a, addrOf(epB)}, {lan, addrOf(epA)}, {lan, addrOf(epB)},
	} {
		if err := ping(c.from, c.to); err != nil {
			t.Errorf("ping %s from %s: %v", c.to, c.from, err)
		}
	}
	tcpExchange(t, a, lan, "192.168.150.2:5001", 8<<20)
	tcpExchange(t, lan, b, addrOf(epB)+":5002", 8<<20)
	tcpExchange(t, a, b, addrOf(epB)+":5003", 1<<20)
	st := l.networkStats("lan")
	var up *api.PortStats
	for i, p := range st.Ports {
		if p.Name == parent {
			up = &st.Ports[i]
		}
	}
	if up == nil || up.RxFrames == 0 || up.TxFrames == 0 || up.PortSecurity {
		t.Errorf("uplink port in stats: %+v, want traffic both ways and no port security", up)
	}
	if st.Uplink == nil || st.Uplink.Parent != parent {
		t.Errorf("uplink stats %+v", st.Uplink)
	}
	if _, err := l.c.Publish(context.Background(), "lan", api.PublishRequest{Spec: "8080:" + addrOf(epA) + ":80"}); err == nil {
		t.Error("publish on an uplink network accepted")
	}
	if _, err := l.c.Attach(context.Background(), "lan", api.EndpointCreate{Netns: nstest.NewNetns(t), IP: "192.168.150.129"}); err == nil {
		t.Error("attach --ip of an aux address accepted")
	}
}

// TestUplinkCreateErrors checks the uplink driver's bad requests are
// refused with nothing left behind.
func TestUplinkCreateErrors(t *testing.T) {
	lan := nstest.NewNetns(t)
	parent, _ := hostVeth(t, lan)
	l := startDaemon(t)
	base := api.NetworkCreate{Name: "bad", Driver: api.DriverUplink, Parent: parent, Subnet: "192.168.151.0/24", Gateway: "192.168.151.1"}
	for _, tc := range []struct {
		name string
		mod  func(r *api.NetworkCreate)
	}{
		{"no parent", func(r *api.NetworkCreate) { r.Parent = "" }},
		{"missing interface", func(r *api.NetworkCreate) { r.Parent = "nosuch0" }},
		{"no gateway", func(r *api.NetworkCreate) { r.Gateway = "" }},
		{"vlan contradicts parent", func(r *api.NetworkCreate) { r.Parent += ".10"; r.VLAN = 20 }},
		{"vlan out of range", func(r *api.NetworkCreate) { r.Parent += ".4095" }},
		{"dhcp", func(r *api.NetworkCreate) { r.DHCP = "on" }},
		{"ip range outside", func(r *api.NetworkCreate) { r.IPRange = "10.0.0.0/24" }},
		{"aux outside", func(r *api.NetworkCreate) { r.AuxAddresses = []string{"10.0.0.1"} }},
		{"parent without driver", func(r *api.NetworkCreate) { r.Driver = "" }},
		{"parent with overlay", func(r *api.NetworkCreate) { r.Driver = api.DriverOverlay }},
		{"dns address outside", func(r *api.NetworkCreate) { r.DNSAddr = "10.0.0.53" }},
		{"dns address is the gateway", func(r *api.NetworkCreate) { r.DNSAddr = "192.168.151.1" }},
		{"dns address is aux", func(r *api.NetworkCreate) {
			r.AuxAddresses, r.DNSAddr = []string{"192.168.151.9"}, "192.168.151.9"
		}},
		{"dns address not an address", func(r *api.NetworkCreate) { r.DNSAddr = "resolver" }},
		{"dns address without uplink", func(r *api.NetworkCreate) { r.Driver, r.Parent, r.DNSAddr = "", "", "192.168.151.53" }},
	} {
		req := base
		tc.mod(&req)
		if _, err := l.c.CreateNetwork(context.Background(), req); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if ns, _ := l.c.Networks(context.Background()); len(ns) != 1 {
		t.Errorf("networks after refusals: %+v, want only the default", ns)
	}
	l.uplinkNetwork(api.NetworkCreate{Name: "u10", Parent: parent, VLAN: 10, Subnet: "192.168.152.0/24", Gateway: "192.168.152.1"})
	if _, err := l.c.CreateNetwork(context.Background(), api.NetworkCreate{Name: "u10b", Driver: api.DriverUplink,
		Parent: parent + ".10", Subnet: "192.168.153.0/24", Gateway: "192.168.153.1"}); err == nil {
		t.Error("second network on VLAN 10 of the same parent accepted")
	}
	if err := l.c.RemoveNetwork(context.Background(), "u10"); err != nil {
		t.Fatal(err)
	}
	l.uplinkNetwork(api.NetworkCreate{Name: "u10c", Parent: parent + ".10", Subnet: "192.168.153.0/24", Gateway: "192.168.153.1"})
}
