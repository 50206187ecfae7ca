package main

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestOverlayLiveRestore kills a host's daemon that keeps state and starts
// it again: its overlay network comes back from the cluster store without a
// "not restored" warning, its endpoint keeps its TAP and address, is
// published to the other hosts again and answers across the tunnel.
func TestOverlayLiveRestore(t *testing.T) {
	l := newOverlayLab(t, 2, true)
	h1, h2 := l.hosts[0], l.hosts[1]
	h1.extra = []string{"--state-dir", t.TempDir()}
	h1.kill()
	l.start(h1)
	l.cli(h1, "network", "create", "ov", "--driver", "overlay", "--subnet", "10.93.0.0/24")
	c1, e1 := l.attach(h1, "ov", "c1")
	waitFor(t, 5*time.Second, "ov on h2", func() bool { return strings.Contains(l.cli(h2, "network", "ls"), "ov") })
	c2, e2 := l.attach(h2, "ov", "c2")
	nsRun(t, c1, "ping", "-c", "1", "-W", "2", addr(e2))

	h1.kill()
	l.start(h1)
	if log := h1.stderr.String(); strings.Contains(log, "not restored") || !strings.Contains(log, "endpoint restored") {
		t.Fatalf("restart of h1 with its state:\n%s", log)
	}
	if got := l.endpoints(h1, "ov")["c1"]; got.IP != e1.IP || got.MAC != e1.MAC || got.Host != h1.addr {
		t.Fatalf("h1's restored endpoint: %+v, was %+v", got, e1)
	}
	waitFor(t, 10*time.Second, "h2 lists h1's restored endpoint", func() bool {
		got := l.endpoints(h2, "ov")["c1"]
		return got.IP == e1.IP && got.Host == h1.addr
	})
	nsRun(t, c2, "ping", "-c", "2", "-W", "2", addr(e1))
	nsRun(t, c1, "ping", "-c", "2", "-W", "2", addr(e2))
	// The restored address is the cluster's again: a new endpoint on h2
	// cannot be given it.
	ns := nstest.Path(nstest.NewNetns(t))
	if _, stderr, code := sy(t, "attach", "ov", ns, "--ip", addr(e1), "--socket", h2.sock); code == 0 {
		t.Fatalf("attach with h1's restored address succeeded: %s", stderr)
	}
}
