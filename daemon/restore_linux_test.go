package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// expected is one endpoint the test expects, in the daemon's view and in
// its namespace.
type expected struct {
	network, name, ns, ifname, ip string
	source                        bool // has a source rule (not the default route)
}

// crashWorld is a test's daemon configuration and what it expects.
type crashWorld struct {
	t        *testing.T
	cfg      daemon.Config
	p        *proc
	nss      []string // every namespace spec the test uses
	eps      []expected
	networks []string // user networks
	ports    []string // "network spec"
}

// nsRun runs argv in a namespace spec: a name under /var/run/netns or
// pid:N.
func nsRun(ns string, argv ...string) (string, error) {
	if pid, ok := strings.CutPrefix(ns, "pid:"); ok {
		out, err := exec.Command("nsenter", append([]string{"-t", pid, "-n"}, argv...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	return nstest.Exec(ns, argv...)
}

// checkKernel compares the namespaces' interfaces, addresses and source
// rules with the expected endpoints: nothing missing, nothing left over.
func (w *crashWorld) checkKernel(when string) {
	w.t.Helper()
	for _, ns := range w.nss {
		var wantLinks, wantRules []string
		for _, e := range w.eps {
			if e.ns == ns {
				wantLinks = append(wantLinks, e.ifname+" "+e.ip)
				if e.source {
					wantRules = append(wantRules, "from "+strings.Split(e.ip, "/")[0])
				}
			}
		}
		out, err := nsRun(ns, "ip", "-4", "-o", "addr", "show")
		if err != nil {
			if len(wantLinks) == 0 {
				continue // a namespace that is gone holds nothing
			}
			w.t.Fatalf("%s: ip addr in %s: %v %s", when, ns, err, out)
		}
		var links []string
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 4 && f[1] != "lo" {
				links = append(links, f[1]+" "+f[3])
			}
		}
		all, _ := nsRun(ns, "ip", "-o", "link", "show")
		for _, l := range strings.Split(all, "\n") {
			if f := strings.Fields(l); len(f) >= 2 && strings.TrimSuffix(f[1], ":") != "lo" &&
				!slices.ContainsFunc(links, func(s string) bool { return strings.HasPrefix(s, strings.TrimSuffix(f[1], ":")+" ") }) {
				links = append(links, strings.TrimSuffix(f[1], ":")+" (no address)")
			}
		}
		rules, _ := nsRun(ns, "ip", "-4", "rule", "show")
		var got []string
		for _, l := range strings.Split(rules, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[1] == "from" && f[2] != "all" {
				got = append(got, "from "+f[2])
			}
		}
		slices.Sort(links)
		slices.Sort(wantLinks)
		slices.Sort(got)
		slices.Sort(wantRules)
		if !slices.Equal(links, wantLinks) || !slices.Equal(got, wantRules) {
			w.t.Fatalf("%s: namespace %s holds %q with rules %q, want %q and %q", when, ns, links, got, wantLinks, wantRules)
		}
	}
}

// checkDaemon compares the daemon's view with the expected one.
func (w *crashWorld) checkDaemon(when string) {
	w.t.Helper()
	ctx := context.Background()
	eps, err := w.p.c.Endpoints(ctx, "")
	if err != nil {
		w.t.Fatalf("%s: endpoints: %v", when, err)
	}
	var got, want []string
	for _, e := range eps {
		got = append(got, e.Network+" "+e.Name+" "+e.IfName+" "+e.IP)
	}
	for _, e := range w.eps {
		want = append(want, e.network+" "+e.name+" "+e.ifname+" "+e.ip)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		w.t.Fatalf("%s: daemon's endpoints %q, want %q", when, got, want)
	}
	nets, err := w.p.c.Networks(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	got = nil
	for _, n := range nets {
		if !n.Builtin {
			got = append(got, n.Name)
		}
	}
	if slices.Sort(got); !slices.Equal(got, w.networks) {
		w.t.Fatalf("%s: daemon's networks %q, want %q", when, got, w.networks)
	}
	ports, err := w.p.c.Ports(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	got = nil
	for _, p := range ports {
		got = append(got, p.Network+" "+p.Spec)
	}
	if slices.Sort(got); !slices.Equal(got, w.ports) {
		w.t.Fatalf("%s: daemon's ports %q, want %q", when, got, w.ports)
	}
}

// crashAndRestart kills the daemon with SIGKILL, runs whileDown, checks
// that the endpoints kept their interfaces, restarts the daemon and checks
// its view and the namespaces again.
func (w *crashWorld) crashAndRestart(after string, whileDown func()) {
	w.t.Helper()
	w.p.kill9()
	if whileDown != nil {
		whileDown()
	}
	w.checkKernel("daemon killed after " + after)
	w.p = startProc(w.t, w.cfg)
	w.checkDaemon("restarted after " + after)
	w.checkKernel("restarted after " + after)
}

// randomName returns prefix and 6 hex digits.
func randomName(prefix string) string {
	var b [3]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// unsharedNetns starts a process in a namespace of its own and returns it
// as pid:N, and a function that ends the process (and so the namespace).
func unsharedNetns(t *testing.T) (string, func()) {
	t.Helper()
	cmd := exec.Command("unshare", "--net", "sleep", "600")
	if err := cmd.Start(); err != nil {
		nstest.Skipf(t, "unshare: %v", err)
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Cleanup(stop)
	spec := "pid:" + itoa(cmd.Process.Pid)
	for range 100 { // until unshare has exec'd sleep in the new namespace
		if l, err := os.Readlink("/proc/" + itoa(cmd.Process.Pid) + "/ns/net"); err == nil {
			if s, _ := os.Readlink("/proc/self/ns/net"); l != s {
				return spec, stop
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("unshare did not enter a new network namespace")
	return "", nil
}

// stateFiles lists what the state directory holds.
func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// newCrashWorld prepares a daemon configuration with a private socket and
// state directory.
func newCrashWorld(t *testing.T) *crashWorld {
	t.Helper()
	nstest.RequireNetAdmin(t)
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	os.WriteFile(resolv, nil, 0o644)
	return &crashWorld{t: t, cfg: daemon.Config{Socket: filepath.Join(dir, "sy.sock"), StateDir: filepath.Join(dir, "state"),
		ResolvConf: resolv, NetnsCheck: daemon.Duration(200 * time.Millisecond)}}
}

// attach attaches ns and records the expected endpoint.
func (w *crashWorld) attach(network, ns, name, ip string, source bool) {
	w.t.Helper()
	ep, err := w.p.c.Attach(context.Background(), network, api.EndpointCreate{Netns: ns, Name: name, IP: ip})
	if err != nil {
		w.t.Fatalf("attach %s to %s: %v", ns, network, err)
	}
	w.eps = append(w.eps, expected{network: network, name: name, ns: ns, ifname: ep.IfName, ip: ep.IP, source: source})
}

// forget drops the expected endpoints for which gone is true.
func (w *crashWorld) forget(gone func(e expected) bool) {
	w.eps = slices.DeleteFunc(w.eps, gone)
}
