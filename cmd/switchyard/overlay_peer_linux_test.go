package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestOverlayKernelPeer joins a switchyard overlay network and a Linux
// vxlan device (static FDB, nolearning) in another namespace of the same
// underlay through --peer, with no cluster store: both ends ping each
// other, on the IANA port and on the kernel's default 8472.
func TestOverlayKernelPeer(t *testing.T) {
	l := newOverlayLab(t, 1, false)
	h := l.hosts[0]
	kern := nstest.NewNetns(t)
	l.plug(kern, "192.168.90.50", 9)
	for i, port := range []int{4789, 8472} {
		vni, name, dev := fmt.Sprint(42+i), fmt.Sprintf("kv%d", i), fmt.Sprintf("vx%d", i)
		subnet := fmt.Sprintf("10.95.%d.0/24", i)
		out := l.cli(h, "network", "create", name, "--driver", "overlay", "--subnet", subnet, "--vni", vni,
			"--vxlan-port", fmt.Sprint(port), "--peer", "192.168.90.50", "--json")
		var n api.Network
		if err := json.Unmarshal([]byte(out), &n); err != nil {
			t.Fatal(err)
		}
		if n.Driver != "overlay" || fmt.Sprint(n.VNI) != vni || n.VXLANPort != port || n.MTU != 1450 || len(n.Peers) != 1 {
			t.Fatalf("created %+v", n)
		}
		nsRun(t, kern, "ip", "link", "add", dev, "type", "vxlan", "id", vni, "dstport", fmt.Sprint(port),
			"local", "192.168.90.50", "dev", "ul0", "nolearning")
		nsRun(t, kern, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", dev, "dst", h.addr)
		nsRun(t, kern, "ip", "addr", "add", fmt.Sprintf("10.95.%d.100/24", i), "dev", dev)
		nsRun(t, kern, "ip", "link", "set", dev, "up")
		c, ep := l.attach(h, name, "c"+fmt.Sprint(i))
		nsRun(t, kern, "ping", "-c", "2", "-W", "2", addr(ep))
		nsRun(t, c, "ping", "-c", "2", "-W", "2", "-M", "do", "-s", "1422", fmt.Sprintf("10.95.%d.100", i))
		if fdb := l.cli(h, "fdb", name); !strings.Contains(fdb, "192.168.90.50") {
			t.Fatalf("the kernel device's MAC was not learned behind its VTEP:\n%s", fdb)
		}
	}
	if _, stderr, code := sy(t, "network", "create", "dup", "--driver", "overlay", "--subnet", "10.96.0.0/24",
		"--vni", "42", "--socket", h.sock); code != 1 || !strings.Contains(stderr, "VNI") {
		t.Fatalf("a second network with VNI 42 on port 4789: exit %d, %s", code, stderr)
	}
	if _, stderr, code := sy(t, "hosts", "--socket", h.sock); code != 1 || !strings.Contains(stderr, "cluster store") {
		t.Fatalf("hosts without a cluster store: exit %d, %s", code, stderr)
	}
	// Removing the network frees its VNI on the port for a new one.
	l.cli(h, "detach", "kv0", "c0")
	l.cli(h, "network", "rm", "kv0")
	l.cli(h, "network", "create", "dup", "--driver", "overlay", "--subnet", "10.96.0.0/24", "--vni", "42")
}
