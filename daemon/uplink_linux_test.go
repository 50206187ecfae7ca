package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// hostVeth creates a veth pair in the test's own namespace with unique
// names, both ends up and without IPv6 (no solicitations add noise), and
// moves the second end into peerNS as eth0 when peerNS is set. It returns
// the names of the two ends; the pair is deleted when t ends.
func hostVeth(t *testing.T, peerNS string) (string, string) {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	a, z := "syu"+hex.EncodeToString(b[:])+"a", "syu"+hex.EncodeToString(b[:])+"z"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("link", "add", a, "type", "veth", "peer", "name", z)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	for _, dev := range []string{a, z} {
		exec.Command("sysctl", "-qw", "net.ipv6.conf."+dev+".disable_ipv6=1").Run()
	}
	ip("link", "set", a, "up")
	if peerNS == "" {
		ip("link", "set", z, "up")
		return a, z
	}
	ip("link", "set", z, "netns", peerNS, "name", "eth0")
	if out, err := nstest.Exec(peerNS, "ip", "link", "set", "eth0", "up"); err != nil {
		t.Fatalf("eth0 up in %s: %v: %s", peerNS, err, out)
	}
	return a, "eth0"
}

// uplinkNetwork creates an uplink network and fails t on error.
func (l *live) uplinkNetwork(req api.NetworkCreate) api.Network {
	l.t.Helper()
	req.Driver = api.DriverUplink
	n, err := l.c.CreateNetwork(context.Background(), req)
	if err != nil {
		l.t.Fatalf("create uplink network %s: %v", req.Name, err)
	}
	return n
}

// attachReq attaches with a full request and fails t on error.
func (l *live) attachReq(network string, req api.EndpointCreate) api.Endpoint {
	l.t.Helper()
	ep, err := l.c.Attach(context.Background(), network, req)
	if err != nil {
		l.t.Fatalf("attach %s to %s: %v", req.Netns, network, err)
	}
	return ep
}

// addrOf is an endpoint's address without the prefix length.
func addrOf(ep api.Endpoint) string { return strings.Split(ep.IP, "/")[0] }

// uplinkStats returns a network's counters from the daemon.
func (l *live) networkStats(name string) api.NetworkStats {
	l.t.Helper()
	st, err := l.c.Stats(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	for _, n := range st.Networks {
		if n.Network == name {
			return n
		}
	}
	l.t.Fatalf("no stats for network %s", name)
	return api.NetworkStats{}
}

// ipInRange reports whether s lies in [first, last].
func ipInRange(s, first, last string) bool {
	a := netip.MustParseAddr(s)
	return a.Compare(netip.MustParseAddr(first)) >= 0 && a.Compare(netip.MustParseAddr(last)) <= 0
}
