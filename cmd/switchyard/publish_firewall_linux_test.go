package main

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// ownUserRules lists the daemon's accept rules in DOCKER-USER, read by
// iptables (which must still be able to read the chain).
func (h *netHost) ownUserRules() []string {
	h.t.Helper()
	out, err := nstest.Exec(h.ns, "iptables", "-S", "DOCKER-USER")
	if err != nil {
		h.t.Fatalf("iptables -S DOCKER-USER: %v %s", err, out)
	}
	var own []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, h.table()+": ") {
			own = append(own, l)
		}
	}
	return own
}

// TestPublishBesideDockerFirewall (issue 9 §1): a real dockerd started on
// a host with forwarding off sets the FORWARD policy to DROP; the kernel
// path, `both` and the userspace path all serve an external client,
// because the daemon adds accept rules for its host port to DOCKER-USER
// (and removes them with the mappings, re-adds them on --repair, takes
// them over after a crash and removes them at shutdown), leaving
// Docker's own rule alone.
func TestPublishBesideDockerFirewall(t *testing.T) {
	h := newNetHost(t)
	nstest.StartDockerd(t, h.ns, "--bridge=none", "--storage-driver=vfs")
	if got := h.sysctl("net.ipv4.ip_forward"); got != "1" {
		t.Fatalf("dockerd left ip_forward=%s", got)
	}
	if out, _ := nstest.Exec(h.ns, "iptables", "-S", "FORWARD"); !strings.Contains(out, "-P FORWARD DROP") {
		t.Fatalf("dockerd set no FORWARD policy DROP (the test needs it):\n%s", out)
	}
	h.up()
	client := h.linkClient("192.168.81")
	web := nstest.NewNetns(t)
	h.sy("attach", "default", web, "--ip", "10.90.0.5", "--name", "web")
	for _, p := range []string{"80", "81", "82"} {
		serveTCP(t, web, "10.90.0.5:"+p, "port "+p)
	}
	for _, tc := range []struct{ spec, path string }{{"8080:web:80", "kernel"}, {"8081:web:81", "both"}, {"8082:web:82", "userspace"}} {
		if out := h.sy("publish", "default", tc.spec, "--path", tc.path); strings.Contains(out, "note:") {
			t.Errorf("publish --path %s: %s", tc.path, out)
		}
	}
	check := func(when string, ports ...string) {
		t.Helper()
		if len(ports) == 0 {
			ports = []string{"80", "81", "82"}
		}
		for _, p := range ports {
			if got, err := ask(client, "192.168.81.1:80"+p); err != nil || got != "port "+p {
				t.Errorf("%s: external client → 80%s: %q %v", when, p, got, err)
			}
		}
	}
	check("beside dockerd")
	if out := h.sy("ports"); strings.Contains(out, "cannot serve") || !strings.Contains(out, "both") {
		t.Errorf("ports:\n%s", out)
	}
	own := h.ownUserRules()
	if len(own) != 2 || !strings.Contains(own[0], "--ctstate DNAT") {
		t.Fatalf("own rules in DOCKER-USER: %q", own)
	}
	if out, err := nstest.Exec(h.ns, "iptables", "-C", "DOCKER-USER", "-j", "RETURN"); err != nil {
		t.Fatalf("Docker's own rule check fails: %v %s", err, out)
	}

	// Deleted by hand: ports says so, --repair puts them back.
	for range own {
		if out, err := nstest.Exec(h.ns, "iptables", "-D", "DOCKER-USER", "1"); err != nil {
			t.Fatal(err, out)
		}
	}
	if _, err := ask(client, "192.168.81.1:8080"); err == nil {
		t.Fatal("the kernel path answered without the accept rules (is the test wrong?)")
	}
	if out := h.sy("ports"); !strings.Contains(out, "cannot serve external clients") {
		t.Errorf("ports without the accept rules:\n%s", out)
	}
	if out := h.sy("ports", "--repair"); !strings.Contains(out, "were missing from table ip filter chain DOCKER-USER") {
		t.Errorf("ports --repair: %q", out)
	}
	check("after ports --repair")

	// A crash: the restarted daemon takes its rules over (no duplicates).
	h.kill9()
	h.up()
	check("after a crash and restart")
	if own := h.ownUserRules(); len(own) != 2 {
		t.Errorf("own rules after the restart: %q", own)
	}
	// Removed with the last kernel-path mapping; Docker's rule stays.
	h.sy("unpublish", "default", "8080")
	h.sy("unpublish", "default", "8081")
	if own := h.ownUserRules(); len(own) != 0 {
		t.Errorf("own rules after the last kernel-path mapping went: %q", own)
	}
	h.sy("publish", "default", "8080:web:80", "--path", "kernel")
	check("published again", "80", "82")
	h.down()
	if own := h.ownUserRules(); len(own) != 0 {
		t.Errorf("own rules after shutdown: %q", own)
	}
	if out, _ := nstest.Exec(h.ns, "iptables", "-S", "DOCKER-USER"); out != "-N DOCKER-USER\n-A DOCKER-USER -j RETURN" {
		t.Errorf("DOCKER-USER after shutdown:\n%s", out)
	}
}

// TestPublishForeignDropWithoutDockerUser (issue 9 §1): a forward-hook
// drop policy with no DOCKER-USER chain: `publish --path kernel` says in
// a note that external clients cannot be served (host-local clients
// still are), `ports` says so too, and `both` falls back to the
// userspace path, which serves the external client.
func TestPublishForeignDropWithoutDockerUser(t *testing.T) {
	h := newNetHost(t)
	for _, c := range [][]string{
		{"nft", "add", "table", "ip", "syforeign"},
		{"nft", "add", "chain", "ip", "syforeign", "sydrop", "{ type filter hook forward priority 0; policy drop; }"},
	} {
		if out, err := nstest.Exec(h.ns, c...); err != nil {
			t.Fatal(c, err, out)
		}
	}
	h.up()
	client := h.linkClient("192.168.82")
	web := nstest.NewNetns(t)
	h.sy("attach", "default", web, "--ip", "10.90.0.5", "--name", "web")
	serveTCP(t, web, "10.90.0.5:80", "port 80")
	serveTCP(t, web, "10.90.0.5:81", "port 81")

	out := h.sy("publish", "default", "8080:web:80", "--path", "kernel")
	if !strings.Contains(out, "note: the kernel path cannot serve external clients: table ip syforeign chain sydrop has policy drop and there is no DOCKER-USER chain") {
		t.Errorf("publish --path kernel: %q", out)
	}
	if _, err := ask(client, "192.168.82.1:8080"); err == nil {
		t.Error("an external client got through the foreign drop policy (is the test wrong?)")
	}
	if got, err := ask(h.ns, "192.168.82.1:8080"); err != nil || got != "port 80" {
		t.Errorf("host-local client on the kernel path: %q %v", got, err)
	}
	out = h.sy("publish", "default", "8081:web:81")
	if !strings.Contains(out, "served by the userspace path alone") {
		t.Errorf("publish (both): %q", out)
	}
	if got, err := ask(client, "192.168.82.1:8081"); err != nil || got != "port 81" {
		t.Errorf("external client on `both`: %q %v", got, err)
	}
	ports := h.sy("ports")
	for _, l := range strings.Split(ports, "\n") {
		if strings.Contains(l, "8080") && !strings.Contains(l, "cannot serve external clients") ||
			strings.Contains(l, "8081") && !strings.Contains(l, "userspace") {
			t.Errorf("ports:\n%s", ports)
		}
	}
	if got, _ := nstest.Exec(h.ns, "nft", "list", "table", "ip", "syforeign"); !strings.Contains(got, "policy drop") {
		t.Errorf("the foreign table was changed:\n%s", got)
	}
}
