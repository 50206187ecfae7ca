package daemon_test

import (
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestUplinkVLANs joins two daemons by a veth as their uplinks (no 8021q:
// the switches tag). Each has a VLAN 10 network (one spelled eth.10, the
// other --vlan 10): their endpoints talk by ping and TCP. An endpoint of
// a VLAN 20 network, without port security and with an address of VLAN
// 10's subnet added by hand, reaches neither; the other daemon counts its
// frames as another VLAN's.
func TestUplinkVLANs(t *testing.T) {
	va, vb := hostVeth(t, "")
	one, two := startDaemon(t), startDaemon(t)
	one.uplinkNetwork(api.NetworkCreate{Name: "v10", Parent: va + ".10", Subnet: "10.77.10.0/24", Gateway: "10.77.10.1",
		IPRange: "10.77.10.16/28"})
	two.uplinkNetwork(api.NetworkCreate{Name: "v10", Parent: vb, VLAN: 10, Subnet: "10.77.10.0/24", Gateway: "10.77.10.1",
		IPRange: "10.77.10.32/28"})
	two.uplinkNetwork(api.NetworkCreate{Name: "v20", Parent: vb + ".20", Subnet: "10.77.20.0/24", Gateway: "10.77.20.1"})
	a, b, c := nstest.NewNetns(t), nstest.NewNetns(t), nstest.NewNetns(t)
	epA := one.attachReq("v10", api.EndpointCreate{Netns: a})
	epB := two.attachReq("v10", api.EndpointCreate{Netns: b})
	two.attachReq("v20", api.EndpointCreate{Netns: c, NoPortSecurity: true})
	if err := ping(a, addrOf(epB)); err != nil {
		t.Fatalf("VLAN 10 across the daemons: ping %s: %v", addrOf(epB), err)
	}
	if err := ping(b, addrOf(epA)); err != nil {
		t.Errorf("VLAN 10 back: ping %s: %v", addrOf(epA), err)
	}
	tcpExchange(t, a, b, addrOf(epB)+":5010", 4<<20)

	ifname := two.endpointIfName(t, "v20", c)
	if out, err := nstest.Exec(c, "ip", "addr", "add", "10.77.10.99/24", "dev", ifname); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	before := one.networkStats("v10").Uplink
	for _, ip := range []string{addrOf(epA), addrOf(epB)} {
		if _, err := nstest.Exec(c, "ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", "10.77.10.99", ip); err == nil {
			t.Errorf("VLAN 20 endpoint reached %s on VLAN 10", ip)
		}
	}
	after := one.networkStats("v10").Uplink
	if before == nil || after == nil || after.RxOtherVLAN <= before.RxOtherVLAN {
		t.Errorf("other-VLAN drops on the first daemon before %+v after %+v: want more", before, after)
	}
	for _, p := range two.networkStats("v20").Ports {
		if p.Name == vb+".20" && p.TxFrames == 0 {
			t.Errorf("VLAN 20 uplink port sent nothing: %+v (the test would pass without trying)", p)
		}
	}
}

// endpointIfName returns the interface name of ns's endpoint on network.
func (l *live) endpointIfName(t *testing.T, network, ns string) string {
	t.Helper()
	eps, err := l.c.Endpoints(t.Context(), network)
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if ep.Netns == nstest.Path(ns) || ep.Netns == ns {
			return ep.IfName
		}
	}
	t.Fatalf("no endpoint of %s on %s in %+v", ns, network, eps)
	return ""
}
