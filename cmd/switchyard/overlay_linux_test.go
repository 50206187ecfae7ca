package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
)

// TestOverlayAcrossHosts runs three hosts, each with its own daemon, on
// one underlay bridge with one etcd: an overlay network created on one
// host appears on all; endpoints on different hosts get unique addresses,
// ping each other and resolve each other's names; a stopped etcd does not
// stop forwarding; a killed host's endpoints vanish from the others
// within the TTL plus 5 s, and after a restart it re-joins.
func TestOverlayAcrossHosts(t *testing.T) {
	l := newOverlayLab(t, 3, true)
	h1, h2, h3 := l.hosts[0], l.hosts[1], l.hosts[2]
	l.cli(h1, "network", "create", "ov", "--driver", "overlay", "--subnet", "10.91.0.0/24")
	l.cli(h2, "network", "create", "ov2", "--driver", "overlay", "--subnet", "10.92.0.0/24", "--vni", "5000")
	for _, h := range l.hosts {
		waitFor(t, 5*time.Second, "both networks on "+h.addr, func() bool {
			var ns []api.Network
			json.Unmarshal([]byte(l.cli(h, "network", "ls", "--json")), &ns)
			got := map[string]api.Network{}
			for _, n := range ns {
				got[n.Name] = n
			}
			ov, ov2 := got["ov"], got["ov2"]
			return ov.Driver == "overlay" && ov.VNI == 4096 && ov.MTU == 1450 && ov2.VNI == 5000 && got["default"].Driver == "bridge"
		})
	}
	c1, e1 := l.attach(h1, "ov", "c1")
	_, e2 := l.attach(h2, "ov", "c2")
	c3, e3 := l.attach(h3, "ov", "c3")
	if ips := map[string]bool{e1.IP: true, e2.IP: true, e3.IP: true}; len(ips) != 3 {
		t.Fatalf("addresses handed out twice: %s %s %s", e1.IP, e2.IP, e3.IP)
	}
	if e1.MTU != 1450 || e1.Host != h1.addr {
		t.Fatalf("endpoint %+v: want MTU 1450 (1500 underlay - 50) on host %s", e1, h1.addr)
	}
	waitFor(t, 5*time.Second, "h1 lists all endpoints", func() bool {
		eps := l.endpoints(h1, "ov")
		return len(eps) == 3 && eps["c2"].Host == h2.addr && eps["c3"].Host == h3.addr
	})
	nsRun(t, c1, "ping", "-c", "2", "-W", "2", addr(e2))
	nsRun(t, c1, "ping", "-c", "2", "-W", "2", addr(e3))
	testTCPAndUDP(t, c3, c1, addr(e1))
	nsRun(t, c3, "ping", "-c", "2", "-W", "2", "-M", "do", "-s", "1422", addr(e2))
	if out := nsRun(t, c1, "busybox", "nslookup", "c3", "10.91.0.1"); !strings.Contains(out, addr(e3)) {
		t.Fatalf("c1 resolving c3: %s", out)
	}
	fdb := l.cli(h1, "fdb", "ov")
	if !strings.Contains(fdb, e2.MAC) || !strings.Contains(fdb, h2.addr) || !strings.Contains(fdb, h3.addr) {
		t.Fatalf("h1's fdb lacks remote MACs with their VTEPs:\n%s", fdb)
	}
	if _, stderr, code := sy(t, "network", "rm", "ov", "--socket", h3.sock); code != 1 || !strings.Contains(stderr, "endpoints") {
		t.Fatalf("network rm with endpoints on other hosts: exit %d, %s", code, stderr)
	}
	hosts := l.cli(h2, "hosts")
	for _, h := range l.hosts {
		if !strings.Contains(hosts, h.addr) {
			t.Fatalf("hosts lacks %s:\n%s", h.addr, hosts)
		}
	}

	testEtcdOutage(t, l, c1, addr(e2))
	testHostLoss(t, l, c1)
}

// testEtcdOutage pings across hosts while etcd is killed and restarted:
// not one echo may be lost.
func testEtcdOutage(t *testing.T, l *overlayLab, from, to string) {
	done := make(chan string, 1)
	go func() {
		out, err := nstestExec(from, "ping", "-c", "25", "-i", "0.2", "-W", "1", to)
		if err != nil {
			out += " " + err.Error()
		}
		done <- out
	}()
	time.Sleep(500 * time.Millisecond)
	l.etcd.Kill()
	if _, stderr, code := sy(t, "network", "create", "ov3", "--driver", "overlay", "--subnet", "10.93.0.0/24",
		"--socket", l.hosts[0].sock); code != 1 || !strings.Contains(stderr, "etcd://") {
		t.Errorf("create with etcd down: exit %d, %q; want an error naming the store", code, stderr)
	}
	time.Sleep(time.Second)
	l.etcd.Restart()
	out := <-done
	if !strings.Contains(out, "25 received") {
		t.Fatalf("forwarding stopped while etcd was down:\n%s", out)
	}
}

// testHostLoss kills h3's daemon: c3 leaves h1's endpoints, DNS and FDB
// within the TTL plus 5 s; h3 restarts and a new endpoint on it is
// reachable.
func testHostLoss(t *testing.T, l *overlayLab, c1 string) {
	h1, h3 := l.hosts[0], l.hosts[2]
	h3.kill()
	took := waitFor(t, labTTL+5*time.Second, "c3 leaves h1's view", func() bool {
		_, ok := l.endpoints(h1, "ov")["c3"]
		return !ok && !strings.Contains(l.cli(h1, "fdb", "ov"), h3.addr)
	})
	t.Logf("killed host's endpoints gone from the others after %s (TTL %s)", took.Round(10*time.Millisecond), labTTL)
	if out, _ := nstestExec(c1, "busybox", "nslookup", "c3", "10.91.0.1"); strings.Contains(out, "10.91.0.") &&
		!strings.Contains(out, "NXDOMAIN") && !strings.Contains(out, "can't find") {
		t.Fatalf("c3 still resolves after its host died: %s", out)
	}
	l.start(h3)
	waitFor(t, 10*time.Second, "restarted h3 has ov", func() bool {
		return strings.Contains(l.cli(h3, "network", "ls"), "ov")
	})
	_, e4 := l.attach(h3, "ov", "c4")
	took = waitFor(t, 10*time.Second, "c1 pings c4", func() bool {
		_, err := nstestExec(c1, "ping", "-c", "1", "-W", "1", addr(e4))
		return err == nil
	})
	t.Logf("from attach on a restarted host to the first ping from another: %s", took.Round(10*time.Millisecond))
}

// testTCPAndUDP echoes a line over TCP and over UDP from client to an
// echo server (socat) in the server namespace, across hosts.
func testTCPAndUDP(t *testing.T, client, server, serverIP string) {
	for _, udp := range []bool{false, true} {
		listen := []string{"socat", "TCP-LISTEN:7000,fork,reuseaddr", "EXEC:cat"}
		dial := []string{"socat", "-t", "2", "-", "TCP:" + serverIP + ":7000"}
		if udp {
			listen = []string{"socat", "UDP-LISTEN:7000,fork,reuseaddr", "EXEC:cat"}
			dial = []string{"socat", "-t", "1", "-", "UDP:" + serverIP + ":7000"}
		}
		srv := exec.Command("ip", append([]string{"netns", "exec", server}, listen...)...)
		// Its own process group: the forked per-peer children go with it.
		srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		got := ""
		for range 20 {
			cmd := exec.Command("ip", append([]string{"netns", "exec", client}, dial...)...)
			cmd.Stdin = strings.NewReader("across hosts\n")
			out, _ := cmd.Output()
			if got = string(out); strings.Contains(got, "across hosts") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
		srv.Wait()
		if !strings.Contains(got, "across hosts") {
			t.Fatalf("echo over %s across hosts: got %q", map[bool]string{false: "TCP", true: "UDP"}[udp], got)
		}
	}
}
