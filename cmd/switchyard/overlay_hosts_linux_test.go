package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cluster/etcdtest"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// overlayLab is an underlay bridge with etcd and N host namespaces, each
// running its own `switchyard up` against the etcd.
type overlayLab struct {
	t      *testing.T
	bridge string // namespace holding the underlay bridge
	etcd   *etcdtest.Server
	hosts  []*labHost
}

// labHost is one host namespace and its daemon.
type labHost struct {
	ns, addr, sock string
	extra          []string // more arguments of up
	cmd            *exec.Cmd
	stderr         *bytes.Buffer
}

// labTTL is the daemons' membership TTL.
const labTTL = 3 * time.Second

// nsRun runs a command in a namespace and fails t on error.
func nsRun(t *testing.T, ns string, argv ...string) string {
	t.Helper()
	out, err := nstest.Exec(ns, argv...)
	if err != nil {
		t.Fatalf("in %s: %v: %v: %s", ns, argv, err, out)
	}
	return out
}

// plug connects namespace ns to the underlay bridge with address addr/24.
func (l *overlayLab) plug(ns, addr string, i int) {
	t := l.t
	port := fmt.Sprintf("p%d", i)
	nsRun(t, l.bridge, "ip", "link", "add", port, "type", "veth", "peer", "name", "ul0", "netns", ns)
	nsRun(t, l.bridge, "ip", "link", "set", port, "master", "br0", "up")
	nsRun(t, ns, "ip", "addr", "add", addr+"/24", "dev", "ul0")
	nsRun(t, ns, "ip", "link", "set", "ul0", "up")
}

// newOverlayLab builds the underlay, starts etcd (unless n is 0 or
// withEtcd is false) and n daemons.
func newOverlayLab(t *testing.T, n int, withEtcd bool) *overlayLab {
	nstest.RequireNetAdmin(t)
	l := &overlayLab{t: t, bridge: nstest.NewNetns(t)}
	nsRun(t, l.bridge, "ip", "link", "add", "br0", "type", "bridge")
	nsRun(t, l.bridge, "ip", "link", "set", "br0", "up")
	if withEtcd {
		ens := nstest.NewNetns(t)
		l.plug(ens, "192.168.90.2", 0)
		l.etcd = etcdtest.Start(t, ens, "192.168.90.2")
	}
	for i := range n {
		h := &labHost{ns: nstest.NewNetns(t), addr: fmt.Sprintf("192.168.90.%d", 11+i),
			sock: filepath.Join(t.TempDir(), "sy.sock")}
		l.plug(h.ns, h.addr, i+1)
		l.hosts = append(l.hosts, h)
		l.start(h)
	}
	return l
}

// start runs h's daemon and waits for its socket.
func (l *overlayLab) start(h *labHost) {
	t := l.t
	t.Helper()
	h.stderr = &bytes.Buffer{}
	argv := []string{"netns", "exec", h.ns, binary, "up", "--socket", h.sock}
	if l.etcd != nil {
		argv = append(argv, "--cluster-store", l.etcd.URL(), "--cluster-advertise", h.addr, "--cluster-ttl", labTTL.String())
	}
	argv = append(argv, h.extra...)
	h.cmd = exec.Command("ip", argv...)
	h.cmd.Stderr = h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := h.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", h.sock); err == nil {
			c.Close()
			return
		}
		if i == 200 || cmd.ProcessState != nil {
			t.Fatalf("daemon in %s did not start: %s", h.ns, h.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops h's daemon with SIGKILL, as a crashed host.
func (h *labHost) kill() {
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// cli runs a client command against h's daemon and fails t on error.
func (l *overlayLab) cli(h *labHost, args ...string) string {
	l.t.Helper()
	out, stderr, code := sy(l.t, append(args, "--socket", h.sock)...)
	if code != 0 {
		l.t.Fatalf("switchyard %v on %s: exit %d: %s\ndaemon log:\n%s", args, h.addr, code, stderr, h.stderr)
	}
	return out
}

// endpoints returns h's view of a network's endpoints by name.
func (l *overlayLab) endpoints(h *labHost, network string) map[string]api.Endpoint {
	var eps []api.Endpoint
	if err := json.Unmarshal([]byte(l.cli(h, "endpoints", network, "--json")), &eps); err != nil {
		l.t.Fatal(err)
	}
	out := map[string]api.Endpoint{}
	for _, e := range eps {
		out[e.Name] = e
	}
	return out
}

// attach creates a container namespace on h and attaches it.
func (l *overlayLab) attach(h *labHost, network, name string) (string, api.Endpoint) {
	ns := nstest.NewNetns(l.t)
	var ep api.Endpoint
	out := l.cli(h, "attach", network, nstest.Path(ns), "--name", name, "--json")
	if err := json.Unmarshal([]byte(out), &ep); err != nil {
		l.t.Fatalf("attach output %q: %v", out, err)
	}
	return ns, ep
}

// waitFor polls cond every 100 ms for up to within and returns the time
// it took.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// addr strips the prefix length of an endpoint's address.
func addr(ep api.Endpoint) string { a, _, _ := strings.Cut(ep.IP, "/"); return a }

// nstestExec runs a command in a namespace without failing the test.
func nstestExec(ns string, argv ...string) (string, error) { return nstest.Exec(ns, argv...) }
