package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	mdns "github.com/miekg/dns"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// runAs says how to run a command: as root, or as an unprivileged user.
type runAs struct {
	name     string
	uid, gid int // 0: root
	binary   string
}

func (r runAs) cmd(argv ...string) *exec.Cmd {
	if r.uid == 0 {
		return exec.Command(argv[0], argv[1:]...)
	}
	return exec.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(r.uid), "--regid=" + strconv.Itoa(r.gid), "--clear-groups", "--"}, argv...)...)
}

// identities returns root and a throw-away unprivileged user (created
// here, removed at the end) with the binary copied where it can run it
// and /dev/net/tun opened up the way distributions ship it (0666).
func identities(t *testing.T) []runAs {
	nstest.RequireNetAdmin(t)
	ids := []runAs{{name: "root", binary: binary}}
	if _, err := exec.LookPath("useradd"); err != nil {
		if nstest.Strict() {
			t.Fatalf("no useradd: the unprivileged runs would be skipped: %v", err)
		}
		t.Log("no useradd: unprivileged runs skipped")
		return ids
	}
	var b [3]byte
	rand.Read(b[:])
	name := "sytest" + hex.EncodeToString(b[:])
	if out, err := exec.Command("useradd", "-M", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		if nstest.Strict() {
			t.Fatalf("useradd: %v %s: the unprivileged runs would be skipped", err, out)
		}
		t.Logf("useradd: %v %s: unprivileged runs skipped", err, out)
		return ids
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, _ := user.Lookup(name)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	bin := worldBinary(t)
	fi, err := os.Stat("/dev/net/tun")
	if err == nil && fi.Mode().Perm() != 0o666 {
		os.Chmod("/dev/net/tun", 0o666)
		t.Cleanup(func() { os.Chmod("/dev/net/tun", fi.Mode().Perm()) })
	}
	return append(ids, runAs{name: "user", uid: uid, gid: gid, binary: bin})
}

// userNetns starts a process in a new user+net namespace owned by who and
// returns its PID (the namespace lives as long as it does).
func userNetns(t *testing.T, who runAs) int {
	t.Helper()
	c := who.cmd("unshare", "--user", "--map-root-user", "--net", "sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	self, _ := os.Readlink("/proc/self/ns/net")
	for i := 0; i < 100; i++ {
		if ns, _ := os.Readlink("/proc/" + strconv.Itoa(c.Process.Pid) + "/ns/net"); ns != "" && ns != self {
			return c.Process.Pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("unshare did not enter its namespaces")
	return 0
}

// inNs runs a command inside the target's namespaces, entering as their
// owner (who is root inside them).
func (r runAs) inNs(pid int, argv ...string) (string, error) {
	out, err := r.cmd(append([]string{"nsenter", "-t", strconv.Itoa(pid), "-U", "-n", "--preserve-credentials", "--"}, argv...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// fakeResolver answers A queries for "host.test." with 192.0.2.1 on port
// 53 of a loopback address, and returns a resolv.conf naming it.
func fakeResolver(t *testing.T) string {
	var b [2]byte
	rand.Read(b[:])
	ip := net.IPv4(127, 54, b[0], b[1]|1).String()
	pc, err := net.ListenPacket("udp", ip+":53")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	rc := filepath.Join(sharedDir(t), "resolv.conf")
	os.WriteFile(rc, []byte("nameserver "+ip+"\n"), 0o644)
	return rc
}

// sharedDir is a temporary directory the unprivileged test user can use
// (t.TempDir's parents are 0700).
func sharedDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sytest-shared")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestSlirp4netnsDropIn(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) {
			host, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			go func() {
				for {
					c, err := host.Accept()
					if err != nil {
						return
					}
					c.Write([]byte("host"))
					c.Close()
				}
			}()
			hostPort := strconv.Itoa(host.Addr().(*net.TCPAddr).Port)
			pid := userNetns(t, who)
			sock := filepath.Join(sharedDir(t), "api.sock")
			readyR, readyW, _ := os.Pipe()
			exitR, exitW, _ := os.Pipe()
			c := who.cmd(who.binary, "slirp4netns", "-c", "-r", "3", "-e", "4", "--api-socket", sock, strconv.Itoa(pid), "tap0")
			c.ExtraFiles = []*os.File{readyW, exitR}
			c.Env = append(os.Environ(), "SWITCHYARD_RESOLV_CONF="+fakeResolver(t))
			var stderr bytes.Buffer
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			readyW.Close()
			exitR.Close()
			defer func() { c.Process.Kill(); c.Wait() }()
			ready := make([]byte, 8)
			readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, _ := readyR.Read(ready); string(ready[:n]) != "1" {
				t.Fatalf("ready fd gave %q; stderr: %s", ready[:n], stderr.String())
			}
			// -c: address, route, MTU.
			addr, _ := who.inNs(pid, "ip", "-4", "-o", "addr", "show", "tap0")
			route, _ := who.inNs(pid, "ip", "route")
			if !strings.Contains(addr, "10.0.2.100/24") || !strings.Contains(route, "default via 10.0.2.2 dev tap0") {
				t.Fatalf("-c result: %s / %s", addr, route)
			}
			if out, err := who.inNs(pid, "ping", "-c", "1", "-W", "2", "10.0.2.2"); err != nil {
				t.Fatalf("ping gateway: %v %s", err, out)
			}
			// Host loopback is on by default: 10.0.2.2 reaches 127.0.0.1.
			if out, err := who.inNs(pid, "busybox", "nc", "-w", "2", "10.0.2.2", hostPort); err != nil || out != "host" {
				t.Fatalf("host loopback: %q %v", out, err)
			}
			// DNS at .3 (forwarded to the host's resolvers).
			if out, err := who.inNs(pid, "busybox", "nslookup", "host.test", "10.0.2.3"); err != nil || !strings.Contains(out, "192.0.2.1") {
				t.Fatalf("DNS at 10.0.2.3: %v\n%s", err, out)
			}
			// API: a forward that dials the guest from inside the namespace.
			// The guest sees a loopback client as the gateway, as with
			// slirp4netns (a transparent socket inside the namespace).
			want := "guest\n"
			if _, err := exec.LookPath("socat"); err == nil {
				want = "guest 10.0.2.2\n"
				go who.inNs(pid, "socat", "-T5", "TCP-LISTEN:8080", "SYSTEM:echo guest $SOCAT_PEERADDR")
			} else {
				go who.inNs(pid, "sh", "-c", "echo guest | timeout 5 busybox nc -l -p 8080")
			}
			time.Sleep(300 * time.Millisecond)
			reply := apiCall(t, sock, `{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":0,"guest_port":8080}}`)
			if reply != `{"error":{"desc":"bad request: add_hostfwd: bad arguments.host_port"}}` && !strings.HasPrefix(reply, `{"return":{"id":`) {
				t.Fatalf("add_hostfwd: %s", reply)
			}
			port := freePort(t)
			if r := apiCall(t, sock, `{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":`+port+`,"guest_port":8080}}`); !strings.HasPrefix(r, `{"return":{"id":`) {
				t.Fatalf("add_hostfwd: %s", r)
			}
			if got := dialRead(t, "127.0.0.1:"+port); got != want {
				t.Fatalf("port forward read %q", got)
			}
			if r := apiCall(t, sock, `{"execute":"list_hostfwd"}`); !strings.Contains(r, `"guest_addr":"10.0.2.100","guest_port":8080`) {
				t.Fatalf("list_hostfwd: %s", r)
			}
			// A guest_addr that is not the namespace's own (here the
			// gateway, whose NAT reaches the host's loopback) is dialed
			// through the TAP like any other.
			port2 := freePort(t)
			if r := apiCall(t, sock, `{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":`+port2+`,"guest_addr":"10.0.2.2","guest_port":`+hostPort+`}}`); !strings.HasPrefix(r, `{"return":{"id":`) {
				t.Fatalf("add_hostfwd to 10.0.2.2: %s", r)
			}
			if got := dialRead(t, "127.0.0.1:"+port2); got != "host" {
				t.Fatalf("forward to the gateway's host loopback read %q, want \"host\"", got)
			}
			// Exit fd: any event ends it with status 0, the socket removed.
			exitW.Close()
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after the exit fd closed: %v\n%s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("did not exit when the exit fd closed")
			}
			if _, err := os.Stat(sock); err == nil {
				t.Fatal("API socket left behind")
			}
		})
	}
}

func TestSlirp4netnsDisableHostLoopbackAndTargetExit(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) { disabledAndTargetExit(t, who) })
	}
}

// disabledAndTargetExit runs the helper as who with host loopback and DNS
// off, checks both, the MTU and a DHCP lease from slirp's range, then kills
// the target: the helper must exit by itself.
func disabledAndTargetExit(t *testing.T, who runAs) {
	pid := userNetns(t, who)
	readyR, readyW, _ := os.Pipe()
	c := who.cmd(who.binary, "slirp4netns", "--configure", "--disable-host-loopback", "--disable-dns", "--ready-fd=3", "--mtu=65520", strconv.Itoa(pid), "tap0")
	c.ExtraFiles = []*os.File{readyW}
	// Were DNS on, it would answer from this resolver, never the host's.
	c.Env = append(os.Environ(), "SWITCHYARD_RESOLV_CONF="+fakeResolver(t))
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	readyW.Close()
	b := make([]byte, 1)
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _ := readyR.Read(b); n != 1 {
		t.Fatalf("not ready: %s", stderr.String())
	}
	if out, _ := who.inNs(pid, "busybox", "nc", "-w", "2", "10.0.2.2", "80"); !strings.Contains(out, "Network is unreachable") {
		t.Fatalf("host loopback disabled: %q, want Network is unreachable", out)
	}
	if out, err := who.inNs(pid, "ping", "-c", "1", "-W", "2", "10.0.2.2"); err != nil {
		t.Fatalf("ping gateway still works: %v %s", err, out)
	}
	if link, _ := who.inNs(pid, "ip", "-o", "link", "show", "tap0"); !strings.Contains(link, "mtu 65520") {
		t.Fatalf("--mtu=65520: %s", link)
	}
	// --disable-dns: nothing answers at 10.0.2.3 (TestSlirp4netnsDropIn
	// shows the same query answered when DNS is on).
	if out, _ := who.inNs(pid, "busybox", "timeout", "2", "busybox", "nslookup", "host.test", "10.0.2.3"); strings.Contains(out, "192.0.2.1") {
		t.Fatalf("DNS answered with --disable-dns:\n%s", out)
	}
	// As with slirp4netns, 10.0.2.3 is still there (it answers ARP) but
	// swallows what it is sent: a connection times out, it is neither
	// refused nor without a route.
	if out, _ := who.inNs(pid, "busybox", "nc", "-w", "2", "10.0.2.3", "53"); !strings.Contains(out, "timed out") {
		t.Fatalf("TCP to 10.0.2.3:53 with --disable-dns: %q, want a time-out", out)
	}
	if out, _ := who.inNs(pid, "ip", "neigh", "show", "10.0.2.3"); !strings.Contains(out, "lladdr") {
		t.Fatalf("10.0.2.3 not resolved with --disable-dns: %q", out)
	}
	// With -c, DHCP gives the TAP's MAC the address -c configured.
	if lease, out := dhcpLease(who, pid); lease != "10.0.2.100" {
		t.Fatalf("DHCP lease %q with -c, want 10.0.2.100:\n%s", lease, out)
	}
	// Without -e, it exits once the target's processes are gone.
	syscall.Kill(pid, syscall.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after the target died: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit when the target died")
	}
}

// dhcpLease runs udhcpc once on tap0 inside pid's namespaces (configuring
// nothing) and returns the address it was offered and its output.
func dhcpLease(who runAs, pid int) (string, string) {
	out, _ := who.inNs(pid, "busybox", "udhcpc", "-i", "tap0", "-n", "-q", "-f", "-t", "3", "-s", "/bin/true")
	if i := strings.Index(out, "lease of "); i >= 0 {
		return strings.Fields(out[i+len("lease of "):])[0], out
	}
	return "", out
}

// TestSlirp4netnsDHCPRange: without -c, a DHCP client gets an address from
// slirp's range 10.0.2.15-30.
func TestSlirp4netnsDHCPRange(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) {
			pid := userNetns(t, who)
			readyR, readyW, _ := os.Pipe()
			c := who.cmd(who.binary, "slirp4netns", "-r", "3", strconv.Itoa(pid), "tap0")
			c.ExtraFiles = []*os.File{readyW}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { c.Process.Kill(); c.Wait() }()
			readyW.Close()
			readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, _ := readyR.Read(make([]byte, 1)); n != 1 {
				t.Fatal("not ready")
			}
			if out, err := who.inNs(pid, "ip", "link", "set", "tap0", "up"); err != nil {
				t.Fatalf("link up: %v %s", err, out)
			}
			lease, out := dhcpLease(who, pid)
			a, err := netip.ParseAddr(lease)
			if err != nil || !netip.MustParsePrefix("10.0.2.0/24").Contains(a) || a.As4()[3] < 15 || a.As4()[3] > 30 {
				t.Fatalf("DHCP lease %q, want one in 10.0.2.15-30:\n%s", lease, out)
			}
		})
	}
}

func TestRun(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) {
			c := who.cmd(who.binary, "run", "--", "sh", "-c", "ip -o -4 addr show tap0; ping -c1 -W2 10.0.2.2 >/dev/null && exit 7")
			out, err := c.CombinedOutput()
			ee, _ := err.(*exec.ExitError)
			if ee == nil || ee.ExitCode() != 7 || !strings.Contains(string(out), "10.0.2.100/24") {
				t.Fatalf("run: %v\n%s", err, out)
			}
			port := freePort(t)
			c = who.cmd(who.binary, "run", "-p", "127.0.0.1:"+port+":9000", "--", "sh", "-c", "echo from-run | busybox nc -l -p 9000")
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			got := ""
			for got == "" && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				got = tryRead("127.0.0.1:" + port)
			}
			c.Wait()
			if got != "from-run\n" || c.ProcessState.ExitCode() != 0 {
				t.Fatalf("run -p: read %q, exit %d", got, c.ProcessState.ExitCode())
			}
			// Nothing is left: no process of the binary (the helper, the
			// agent in the namespace, the child; with them go the
			// namespaces and the TAP), and the forward no longer listens.
			var procs []string
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if procs = processesOf(t, who.binary); len(procs) == 0 || time.Now().After(deadline) {
					break
				}
			}
			if len(procs) > 0 {
				t.Fatalf("processes left after run exited: %v", procs)
			}
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
				c.Close()
				t.Fatal("the port forward outlived run")
			}
		})
	}
}

// processesOf lists "PID cmdline" of running processes of binary (by
// command line or executable).
func processesOf(t *testing.T, binary string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		// The agent runs as /proc/self/fd/N (see nsjoin): its executable
		// link, not its command line, names the binary.
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		exe, _ := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || !bytes.Contains(b, []byte(binary)) && exe != binary {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && bytes.Contains(st, []byte(") Z ")) {
			continue // a zombie: gone, not yet reaped by its parent
		}
		out = append(out, e.Name()+" "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}

func apiCall(t *testing.T, sock, req string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(req))
	c.(*net.UnixConn).CloseWrite()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func dialRead(t *testing.T, addr string) string {
	t.Helper()
	return tryRead(addr)
}

func tryRead(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

// pcapICMPPorts returns the interfaces of a pcapng file that carry ICMP.
func pcapICMPPorts(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	seen := map[string]bool{}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return seen
		}
		intf, _ := r.Interface(ci.InterfaceIndex)
		if gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeICMPv4) != nil {
			seen[intf.Name] = true
		}
	}
}

func TestRootlessPcap(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) { rootlessPcap(t, who) })
	}
}

// rootlessPcap checks `run --pcap` and `slirp4netns --pcap` as who.
func rootlessPcap(t *testing.T, who runAs) {
	dir := sharedDir(t)
	file := filepath.Join(dir, "run.pcapng")
	if out, err := who.cmd(who.binary, "run", "--pcap", file, "--", "ping", "-c", "1", "-W", "2", "10.0.2.2").CombinedOutput(); err != nil {
		t.Fatalf("run --pcap: %v\n%s", err, out)
	}
	if seen := pcapICMPPorts(t, file); !seen["tap"] || !seen["gateway"] {
		t.Fatalf("run --pcap: ICMP on %v, want tap and gateway", seen)
	}

	pid := userNetns(t, who)
	file = filepath.Join(dir, "slirp.pcapng")
	readyR, readyW, _ := os.Pipe()
	c := who.cmd(who.binary, "slirp4netns", "-c", "-r", "3", "--pcap", file, strconv.Itoa(pid), "tap0")
	c.ExtraFiles = []*os.File{readyW}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	b := make([]byte, 1)
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	readyR.Read(b)
	who.inNs(pid, "ping", "-c", "1", "-W", "2", "10.0.2.2")
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
	if seen := pcapICMPPorts(t, file); !seen["tap"] {
		t.Fatalf("slirp4netns --pcap: ICMP on %v", seen)
	}
}

// TestSlirp4netnsIPv6: with -6 the guest configures fd00::/64 by SLAAC
// from the gateway's router advertisements, pings fd00::2, resolves at
// fd00::3 and reaches the host's [::1] through [fd00::2].
func TestSlirp4netnsIPv6(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) { slirpIPv6(t, who) })
	}
}

func slirpIPv6(t *testing.T, who runAs) {
	host, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		nstest.Skipf(t, "no IPv6 loopback on the host: %v", err)
	}
	defer host.Close()
	go func() {
		for {
			c, err := host.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("host6"))
			c.Close()
		}
	}()
	hostPort := strconv.Itoa(host.Addr().(*net.TCPAddr).Port)
	pid := userNetns(t, who)
	readyR, readyW, _ := os.Pipe()
	c := who.cmd(who.binary, "slirp4netns", "-c", "-6", "-r", "3", strconv.Itoa(pid), "tap0")
	c.ExtraFiles = []*os.File{readyW}
	c.Env = append(os.Environ(), "SWITCHYARD_RESOLV_CONF="+fakeResolver(t))
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	defer func() { c.Process.Kill(); c.Wait() }()
	ready := make([]byte, 8)
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _ := readyR.Read(ready); string(ready[:n]) != "1" {
		t.Fatalf("ready fd gave %q; stderr: %s", ready[:n], stderr.String())
	}
	var addr string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		addr, _ = who.inNs(pid, "ip", "-6", "-o", "addr", "show", "dev", "tap0", "scope", "global")
		if strings.Contains(addr, "inet6 fd00::") && !strings.Contains(addr, "tentative") {
			break
		}
	}
	if !strings.Contains(addr, "inet6 fd00::") || strings.Contains(addr, "tentative") {
		route, _ := who.inNs(pid, "ip", "-6", "route")
		t.Fatalf("no SLAAC address on tap0: %q; routes: %s; stderr: %s", addr, route, stderr.String())
	}
	if route, _ := who.inNs(pid, "ip", "-6", "route"); !strings.Contains(route, "default via fe80::") {
		t.Fatalf("no default route from the RA: %s", route)
	}
	if out, err := who.inNs(pid, "ping", "-6", "-c", "1", "-W", "2", "fd00::2"); err != nil {
		t.Fatalf("ping -6 fd00::2: %v %s", err, out)
	}
	if out, err := who.inNs(pid, "busybox", "nc", "-w", "2", "fd00::2", hostPort); err != nil || out != "host6" {
		t.Fatalf("host loopback over IPv6: %q %v", out, err)
	}
	if out, err := who.inNs(pid, "busybox", "nslookup", "host.test", "fd00::3"); err != nil || !strings.Contains(out, "192.0.2.1") {
		t.Fatalf("DNS at fd00::3: %v\n%s", err, out)
	}
	if !strings.Contains(stdout.String(), "WARNING: Support for IPv6 is experimental") {
		t.Fatalf("stdout %q lacks slirp4netns's IPv6 warning", stdout.String())
	}
}
