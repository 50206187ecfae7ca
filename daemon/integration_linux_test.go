package daemon_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/tap"
)

// live is a daemon serving its API on a temporary socket, with real TAPs.
type live struct {
	t      *testing.T
	d      *daemon.Daemon
	c      *api.Client
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T) *live {
	t.Helper()
	return startDaemonWith(t, daemon.Config{})
}

// startDaemonWith starts a daemon with cfg. Unless cfg names one, the
// gateways get an empty resolv.conf: tests never query the host's real
// resolvers.
func startDaemonWith(t *testing.T, cfg daemon.Config) *live {
	t.Helper()
	nstest.RequireNetAdmin(t)
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
		os.WriteFile(cfg.ResolvConf, nil, 0o644)
	}
	sock := filepath.Join(t.TempDir(), "sy.sock")
	if cfg.Socket == "" {
		cfg.Socket = sock // also names the daemon's nftables table
	}
	d, err := daemon.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := daemon.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &live{t: t, d: d, c: api.NewClient(sock), cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- d.Serve(ctx, ln) }()
	t.Cleanup(l.stop)
	return l
}

// stop shuts the daemon down and waits for it.
func (l *live) stop() {
	l.cancel()
	select {
	case err := <-l.done:
		if err != nil {
			l.t.Errorf("daemon: %v", err)
		}
		l.done <- nil
	case <-time.After(10 * time.Second):
		l.t.Error("daemon did not stop")
	}
}

func (l *live) network(name, subnet string, vlan uint16) {
	l.t.Helper()
	if _, err := l.c.CreateNetwork(context.Background(), api.NetworkCreate{Name: name, Subnet: subnet, VLAN: vlan}); err != nil {
		l.t.Fatal(err)
	}
}

func (l *live) attach(network, ns, ip string) api.Endpoint {
	l.t.Helper()
	ep, err := l.c.Attach(context.Background(), network, api.EndpointCreate{Netns: ns, IP: ip})
	if err != nil {
		l.t.Fatalf("attach %s to %s: %v", ns, network, err)
	}
	return ep
}

func ping(ns, ip string) error {
	_, err := nstest.Exec(ns, "ping", "-c", "2", "-i", "0.2", "-W", "1", ip)
	return err
}

func rxPackets(t *testing.T, ns, ifname string) int {
	t.Helper()
	out, err := nstest.Exec(ns, "cat", "/sys/class/net/"+ifname+"/statistics/rx_packets")
	if err != nil {
		t.Fatalf("rx_packets of %s in %s: %v %s", ifname, ns, err, out)
	}
	n, _ := strconv.Atoi(out)
	return n
}

// tcpExchange sends size random bytes from ns a to a listener in ns b and
// checks the echo comes back intact.
func tcpExchange(t *testing.T, a, b, addr string, size int) {
	t.Helper()
	var ln net.Listener
	if err := nsutil.Do(nstest.Path(b), func() (err error) { ln, err = net.Listen("tcp", addr); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	var c net.Conn
	if err := nsutil.Do(nstest.Path(a), func() (err error) { c, err = net.DialTimeout("tcp", addr, 3*time.Second); return }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	data := make([]byte, size)
	rand.Read(data)
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if len(got) != size || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("echo: got %d bytes, want %d identical", len(got), size)
	}
}

func TestTwoEndpointsPingAndTCP(t *testing.T) {
	l := startDaemon(t)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	l.attach("default", a, "")
	epB := l.attach("default", b, "")
	ipB := strings.Split(epB.IP, "/")[0]
	if err := ping(a, ipB); err != nil {
		t.Fatalf("ping %s from %s: %v", ipB, a, err)
	}
	tcpExchange(t, a, b, ipB+":5001", 8<<20)
	// Both endpoints and the gateway own their MACs: pinned entries.
	fdb, err := l.c.FDB(context.Background(), "default")
	if err != nil || len(fdb) != 3 {
		t.Fatalf("fdb: %+v %v", fdb, err)
	}
	for _, e := range fdb {
		if !e.Pinned {
			t.Fatalf("fdb entry %+v not pinned", e)
		}
	}
}

func TestNetworksIsolated(t *testing.T) {
	for _, tc := range []struct {
		name       string
		vlan1, vl2 uint16
	}{{"separate switches", 0, 0}, {"vlans of one switch", 10, 20}} {
		t.Run(tc.name, func(t *testing.T) {
			l := startDaemon(t)
			l.network("one", "10.201.1.0/24", tc.vlan1)
			l.network("two", "10.201.2.0/24", tc.vl2)
			a, b, c := nstest.NewNetns(t), nstest.NewNetns(t), nstest.NewNetns(t)
			l.attach("one", a, "10.201.1.10")
			l.attach("one", b, "10.201.1.11")
			l.attach("two", c, "10.201.2.10")
			// c claims an address in network one's subnet: still no path.
			if out, err := nstest.Exec(c, "ip", "addr", "add", "10.201.1.50/24", "dev", "eth0"); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			before := rxPackets(t, c, "eth0")
			if err := ping(a, "10.201.1.11"); err != nil {
				t.Fatalf("same network: %v", err)
			}
			nstest.Exec(a, "ping", "-b", "-c", "2", "-i", "0.2", "-W", "1", "10.201.1.255")
			if err := ping(c, "10.201.1.10"); err == nil {
				t.Fatal("an endpoint of network two reached network one")
			}
			if got := rxPackets(t, c, "eth0"); got != before {
				t.Fatalf("%d frames of network one reached network two", got-before)
			}
		})
	}
}

func TestMultiHomedEndpoint(t *testing.T) {
	l := startDaemon(t)
	l.network("one", "10.201.3.0/24", 0)
	l.network("two", "10.201.4.0/24", 0)
	a, m, c := nstest.NewNetns(t), nstest.NewNetns(t), nstest.NewNetns(t)
	l.attach("one", a, "10.201.3.10")
	l.attach("two", c, "10.201.4.10")
	e1 := l.attach("one", m, "10.201.3.20")
	e2 := l.attach("two", m, "10.201.4.20")
	if e1.IfName != "eth0" || e2.IfName != "eth1" || !e1.DefaultRoute || e2.DefaultRoute {
		t.Fatalf("multi-homed interfaces: %+v %+v", e1, e2)
	}
	for _, ip := range []string{"10.201.3.10", "10.201.4.10"} {
		if err := ping(m, ip); err != nil {
			t.Fatalf("multi-homed endpoint cannot reach %s: %v", ip, err)
		}
	}
	if err := ping(a, "10.201.4.10"); err == nil {
		t.Fatal("network one reached network two through the multi-homed endpoint")
	}
}

func TestDetachAndShutdownRemoveTAPs(t *testing.T) {
	l := startDaemon(t)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	l.attach("default", a, "")
	l.attach("default", b, "")
	if err := l.c.Detach(context.Background(), "default", b); err != nil {
		t.Fatal(err)
	}
	if out, err := nstest.Exec(b, "ip", "link", "show", "eth0"); err == nil {
		t.Fatalf("eth0 still in %s after detach: %s", b, out)
	}
	l.stop()
	if out, err := nstest.Exec(a, "ip", "link", "show", "eth0"); err == nil {
		t.Fatalf("eth0 still in %s after shutdown: %s", a, out)
	}
	out, _ := nstest.Exec(a, "ip", "-o", "link")
	if bytes.Contains([]byte(out), []byte("eth")) {
		t.Fatalf("links left: %s", out)
	}
}

// TestDetachByNetnsHintsName: `detach NETWORK NETNS` for an endpoint
// attached under another name is refused, naming the endpoint to detach;
// a namespace that is not on the network gets no hint.
func TestDetachByNetnsHintsName(t *testing.T) {
	l := startDaemon(t)
	a, other := nstest.NewNetns(t), nstest.NewNetns(t)
	l.attachWith("default", api.EndpointCreate{Netns: a, Name: "web"})
	err := l.c.Detach(context.Background(), "default", a)
	want := fmt.Sprintf("netns %s is attached as \"web\": detach takes the endpoint's name (switchyard detach default web)", a)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("detach by netns: %v, want the hint %q", err, want)
	}
	if err := l.c.Detach(context.Background(), "default", other); err == nil || strings.Contains(err.Error(), "attached as") {
		t.Fatalf("detach of a namespace not on the network: %v, want not found without a hint", err)
	}
	if err := l.c.Detach(context.Background(), "default", "web"); err != nil {
		t.Fatal(err)
	}
}

func TestDeletedNamespaceIsReaped(t *testing.T) {
	l := startDaemon(t)
	name := nstest.Prefix + "reap"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	ep := l.attach("default", name, "")
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		eps, err := l.c.Endpoints(context.Background(), "default")
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s still listed after its namespace was deleted", ep.Name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Its address is free again.
	b := nstest.NewNetns(t)
	if got := l.attach("default", b, ""); got.IP != ep.IP {
		t.Fatalf("address %s not reused (got %s)", ep.IP, got.IP)
	}
}

// TestMixedOffloadPorts attaches one fast (vnet header, TSO) and one plain
// TAP: super-frames from the fast side must be segmented and checksummed
// by the switch for the plain side, and plain frames pass to the fast side.
func TestMixedOffloadPorts(t *testing.T) {
	nstest.RequireNetAdmin(t)
	n := 0
	open := func(c tap.Config) (daemon.Device, error) {
		c.Plain = n%2 == 1
		n++
		return daemon.OpenTAP(c)
	}
	d, err := daemon.New(daemon.Config{}, open)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	epA, err := d.Attach("default", api.EndpointCreate{Netns: a})
	if err != nil {
		t.Fatal(err)
	}
	epB, err := d.Attach("default", api.EndpointCreate{Netns: b})
	if err != nil {
		t.Fatal(err)
	}
	if !epA.Offload || epB.Offload {
		t.Fatalf("want a fast and a plain port: %+v %+v", epA, epB)
	}
	ipB := strings.Split(epB.IP, "/")[0]
	tcpExchange(t, a, b, ipB+":5002", 8<<20)
	st := d.Stats()
	for _, p := range st.Networks[0].Ports {
		if p.Errors != 0 || p.TxDrops != 0 {
			t.Errorf("port %s: %d errors, %d drops", p.Name, p.Errors, p.TxDrops)
		}
	}
}
