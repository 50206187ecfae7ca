package cni_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestConflistChainsReferencePlugins chains switchyard with Debian's
// reference tuning plugin (containernetworking-plugins, spec 1.0.0): the
// chained plugin receives switchyard's result as prevResult, acts on the
// interface in the namespace, and CHECK and DEL run through the chain.
func TestConflistChainsReferencePlugins(t *testing.T) {
	if _, err := os.Stat("/usr/lib/cni/tuning"); err != nil {
		nstest.Skipf(t, "needs the reference plugins (containernetworking-plugins): %v", err)
	}
	l := startDaemon(t)
	ns := nstest.NewNetns(t)
	dir := writeConf(t, "sychain", map[string]any{"cniVersion": "1.0.0", "plugins": []any{
		pluginConf(l.sock, "cnichain", "10.216.8.0/24"),
		map[string]any{"type": "tuning", "promisc": true, "sysctl": map[string]string{"net.ipv4.conf.eth0.arp_ignore": "1"}},
	}})
	out, err := cnitool(t, dir, "", "add", "sychain", nstest.Path(ns))
	if err != nil {
		t.Fatalf("cnitool add: %v\n%s", err, out)
	}
	var res current.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.IPs) != 1 || res.IPs[0].Address.String() != "10.216.8.2/24" {
		t.Fatalf("chain result %q: %v", out, err)
	}
	if link, _ := nstest.Exec(ns, "ip", "-o", "link", "show", "eth0"); !strings.Contains(link, "PROMISC") {
		t.Errorf("tuning did not set promisc on the switchyard interface: %s", link)
	}
	if v, _ := nstest.Exec(ns, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore"); v != "1" {
		t.Errorf("arp_ignore %q, want 1", v)
	}
	if o, err := nstest.Exec(ns, "ping", "-c", "1", "-W", "2", "10.216.8.1"); err != nil {
		t.Fatalf("ping the gateway through the chain: %v %s", err, o)
	}
	if out, err := cnitool(t, dir, "", "check", "sychain", nstest.Path(ns)); err != nil {
		t.Fatalf("cnitool check: %v\n%s", err, out)
	}
	if out, err := cnitool(t, dir, "", "del", "sychain", nstest.Path(ns)); err != nil {
		t.Fatalf("cnitool del: %v\n%s", err, out)
	}
	if eps := endpoints(t, l, "cnichain"); len(eps) != 0 {
		t.Errorf("endpoints after DEL: %+v", eps)
	}
}
