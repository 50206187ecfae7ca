package daemon_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// pingWithin pings ip from ns until it answers or d has passed.
func pingWithin(ns, ip string, d time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		_, err := nsRun(ns, "ping", "-c", "1", "-W", "1", ip)
		if err == nil || time.Since(start) > d {
			return time.Since(start), err
		}
	}
}

// TestCrashRestore kills the daemon with SIGKILL after every operation of
// a script (network create, attach, multi-homed attach, publish, detach,
// network rm; a namespace ends while the daemon is down), restarts it,
// and checks after each restart that the daemon's view matches the
// namespaces exactly: every endpoint kept its interface and address while
// the daemon was down, nothing detached or gone is left (no TAP, rule or
// address), traffic passes again within 2 s and the published port is
// served on both paths. SIGTERM then removes everything and the state.
func TestCrashRestore(t *testing.T) {
	w := newCrashWorld(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		nstest.Skipf(t, "needs nsenter: %v", err)
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	c, endC := unsharedNetns(t)
	w.nss = []string{a, b, c}
	net := randomName("crash")
	client, _ := remoteHost(t, "10.218.0")
	ctx := context.Background()
	w.p = startProc(t, w.cfg)

	served := func(when string) {
		t.Helper()
		// The kernel path (DNAT: the endpoint sees the host port) and
		// the userspace path (a host-local client: it sees the gateway).
		if who, err := askWho(client, "10.218.0.1:18280"); err != nil || !strings.HasPrefix(who, "10.218.1.") || who == "10.218.1.1" {
			t.Fatalf("%s: kernel path: endpoint saw %q (%v)", when, who, err)
		}
		if who, err := askWho("", "127.0.0.1:18280"); err != nil || who != "10.218.1.1" {
			t.Fatalf("%s: userspace path: endpoint saw %q (%v)", when, who, err)
		}
	}
	steps := []struct {
		name      string
		do        func()
		whileDown func()
		check     func(when string)
	}{
		{name: "network create", do: func() {
			if _, err := w.p.c.CreateNetwork(ctx, api.NetworkCreate{Name: net, Subnet: "10.218.1.0/24"}); err != nil {
				t.Fatal(err)
			}
			w.networks = []string{net}
		}},
		{name: "attach a to default", do: func() { w.attach("default", a, "a0", "", false) }},
		{name: "attach b", do: func() {
			w.attach(net, b, "b", "10.218.1.20", false)
			whoami(t, b, "10.218.1.20:80") // the listener outlives the daemons
		}},
		{name: "attach a (multi-homed)", do: func() { w.attach(net, a, "a1", "10.218.1.10", true) }},
		{name: "attach c", do: func() { w.attach(net, c, "c", "10.218.1.30", false) }, check: func(when string) {
			for _, ns := range []string{a, c} {
				if d, err := pingWithin(ns, "10.218.1.20", 2*time.Second); err != nil {
					t.Fatalf("%s: %s cannot reach b within 2s (%v): %v", when, ns, d, err)
				}
			}
		}},
		{name: "publish", do: func() {
			if _, err := w.p.c.Publish(ctx, net, api.PublishRequest{Spec: "18280:b:80"}); err != nil {
				t.Fatal(err)
			}
			w.ports = []string{net + " 18280:b:80/tcp"}
		}, whileDown: func() {
			endC() // c's namespace ends while no daemon runs
			w.forget(func(e expected) bool { return e.ns == c })
		}, check: served},
		{name: "detach a", do: func() {
			if err := w.p.c.Detach(ctx, net, "a1"); err != nil {
				t.Fatal(err)
			}
			w.forget(func(e expected) bool { return e.name == "a1" })
		}, check: served},
		{name: "detach b", do: func() {
			if err := w.p.c.Detach(ctx, net, "b"); err != nil {
				t.Fatal(err)
			}
			w.forget(func(e expected) bool { return e.name == "b" })
			w.ports = nil
		}},
		{name: "network rm", do: func() {
			if err := w.p.c.RemoveNetwork(ctx, net); err != nil {
				t.Fatal(err)
			}
			w.networks = nil
		}},
	}
	for _, s := range steps {
		s.do()
		w.checkDaemon(s.name)
		w.crashAndRestart(s.name, s.whileDown)
		if s.check != nil {
			s.check("restarted after " + s.name)
		}
	}
	// A clean stop removes every endpoint, rule and the state.
	w.p.term()
	w.eps = nil
	w.checkKernel("after SIGTERM")
	w.checkClean()
	// Whatever the daemon's table is called, no rule leads to the
	// test's network any more.
	if out, err := exec.Command("nft", "list", "ruleset").CombinedOutput(); err != nil || strings.Contains(string(out), "10.218.1.") {
		t.Fatalf("nftables rules left after SIGTERM (%v):\n%s", err, out)
	}
}

// TestLiveRestore: with --live-restore, SIGTERM leaves the endpoints (TAP,
// address, default route) and the state for the next daemon, which takes
// them over; without it, SIGTERM detaches everything.
func TestLiveRestore(t *testing.T) {
	w := newCrashWorld(t)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	w.nss = []string{a, b}
	w.cfg.LiveRestore = true
	w.p = startProc(t, w.cfg)
	w.attach("default", a, "a", "10.90.0.10", false)
	w.attach("default", b, "b", "10.90.0.11", false)
	w.p.term()
	w.checkKernel("after SIGTERM with live restore")
	if out, err := nsRun(a, "ip", "-4", "route", "show", "default"); err != nil || !strings.Contains(out, "10.90.0.1") {
		t.Fatalf("default route gone while the daemon is down: %q %v", out, err)
	}
	w.cfg.LiveRestore = false
	w.p = startProc(t, w.cfg)
	w.checkDaemon("restarted")
	if d, err := pingWithin(a, "10.90.0.11", 2*time.Second); err != nil {
		t.Fatalf("no traffic within 2s of the restart (%v): %v", d, err)
	}
	w.p.term()
	w.eps = nil
	w.checkKernel("after SIGTERM")
	w.checkClean()
}

// checkClean checks that nothing of the daemon's is left: no state file,
// no resolv.conf written for a named namespace.
func (w *crashWorld) checkClean() {
	w.t.Helper()
	if files := stateFiles(w.t, w.cfg.StateDir); len(files) != 0 {
		w.t.Fatalf("state left after SIGTERM: %v", files)
	}
	for _, ns := range w.nss {
		if !strings.HasPrefix(ns, "pid:") {
			if _, err := os.Stat(filepath.Join("/etc/netns", ns)); err == nil {
				w.t.Errorf("/etc/netns/%s left after SIGTERM", ns)
			}
		}
	}
}
