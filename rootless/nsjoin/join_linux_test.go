package nsjoin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/rootless/nsjoin"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netnsOf returns the network namespace file of pid.
func netnsOf(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/ns/net" }

// nsLinks returns the links of the namespace at path by name.
func nsLinks(t *testing.T, path string) map[string]netlink.Link {
	t.Helper()
	links := map[string]netlink.Link{}
	err := nsutil.Do(path, func() error {
		ls, err := netlink.LinkList()
		for _, l := range ls {
			links[l.Attrs().Name] = l
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return links
}

// TestJoinConfigure is slirp4netns -c in PID mode, as root against a user
// namespace root created (so the user namespace is joined).
func TestJoinConfigure(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0, 2, 100}
	a := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{
		Configure: true, MTU: 4000, MAC: mac, VnetHdr: true,
	})
	info := a.TapInfo()
	t.Logf("helper pid %d, TAP %+v", a.PID(), info)
	if info.Name != "tap0" || info.MTU != 4000 || info.MAC.String() != mac.String() || !info.VnetHdr || !info.Offload {
		t.Errorf("TapInfo %+v", info)
	}
	var fl int
	var flErr error
	rc, err := a.TapFile().SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) { fl, flErr = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	}
	if err != nil || flErr != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("TAP file flags %#x, %v, %v: want O_NONBLOCK", fl, err, flErr)
	}

	// What the user sees inside (the way the brief's `ip addr` would).
	out, err := inNS(t, nil, pid, "ip", "-o", "addr", "show", "dev", "tap0")
	if err != nil || !strings.Contains(out, "inet 10.0.2.100/24") {
		t.Errorf("ip addr inside: %v: %s", err, out)
	}
	links := nsLinks(t, netnsOf(pid))
	tap0, lo := links["tap0"], links["lo"]
	switch {
	case tap0 == nil || lo == nil:
		t.Fatalf("links %v", links)
	case tap0.Attrs().Index != info.Index || tap0.Attrs().MTU != 4000 || tap0.Attrs().Flags&net.FlagUp == 0:
		t.Errorf("tap0 %+v", tap0.Attrs())
	case lo.Attrs().Flags&net.FlagUp == 0:
		t.Error("lo is down")
	}
	err = nsutil.Do(netnsOf(pid), func() error {
		routes, err := netlink.RouteList(tap0, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
				if r.Gw.String() != "10.0.2.2" {
					t.Errorf("default route via %v", r.Gw)
				}
				return err
			}
		}
		t.Errorf("no default route in %v", routes)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	d := mustDevice(t, a)
	if di := d.Info(); !di.Offload || di.Name != "tap0" || d.Index() != info.Index {
		t.Errorf("device info %+v", di)
	}
	r := respond(d)

	// A user's ping from inside crosses the TAP both ways.
	if _, err := exec.LookPath("ping"); err == nil {
		out, err := inNS(t, nil, pid, "ping", "-c1", "-W1", "10.0.2.2")
		if err != nil {
			t.Errorf("ping 10.0.2.2 inside: %v: %s", err, out)
		}
		if r.arps.Load() == 0 || r.pings.Load() == 0 {
			t.Errorf("responder saw %d ARP requests, %d pings", r.arps.Load(), r.pings.Load())
		}
	} else {
		t.Log("no ping(8): checking with UDP only")
	}
	udpEcho(t, a)
	if r.udps.Load() == 0 {
		t.Error("responder saw no UDP")
	}
	if alive, err := a.TargetAlive(); !alive || err != nil {
		t.Errorf("TargetAlive = %v, %v", alive, err)
	}

	// Close: the helper exits, the TAP (owned by the device) stays.
	helper := a.PID()
	if err := a.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := a.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if !gone(helper) {
		t.Errorf("helper %d still exists after Close", helper)
	}
	if _, err := a.DialTCP(context.Background(), netip.MustParseAddrPort("10.0.2.100:1")); !errors.Is(err, nsjoin.ErrClosed) {
		t.Errorf("DialTCP after Close: %v", err)
	}
	if _, ok := nsLinks(t, netnsOf(pid))["tap0"]; !ok {
		t.Error("tap0 vanished with the helper")
	}
	udpCount := r.udps.Load()
	out, err = inNS(t, nil, pid, "ping", "-c1", "-W1", "10.0.2.2")
	if err != nil && r.pings.Load() > 0 {
		t.Errorf("TAP dead after the agent closed: %v: %s (udp %d)", err, out, udpCount)
	}
	d.Close()
	<-r.done
	if _, ok := nsLinks(t, netnsOf(pid))["tap0"]; ok {
		t.Error("tap0 outlived its file")
	}
}

// TestDialTCP dials a listener inside the namespace through the agent.
func TestDialTCP(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	a := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Configure: true, VnetHdr: true})
	guest := netip.AddrPortFrom(guestIP, 5555)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := a.DialTCP(ctx, guest)
	var re *nsjoin.RemoteError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &re) {
		t.Errorf("DialTCP with nothing listening: %v, want ECONNREFUSED", err)
	}

	// The test process itself (root) can listen inside the netns.
	var ln net.Listener
	err = nsutil.Do(netnsOf(pid), func() (err error) {
		ln, err = net.Listen("tcp", guest.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var udpLn net.PacketConn
	err = nsutil.Do(netnsOf(pid), func() (err error) {
		udpLn, err = net.ListenPacket("udp", "127.0.0.1:5556")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer udpLn.Close()

	for i := range 3 {
		c, err := a.DialTCP(ctx, guest)
		if err != nil {
			t.Fatalf("DialTCP %d: %v", i, err)
		}
		if c.RemoteAddr().String() != guest.String() {
			t.Errorf("remote address %v", c.RemoteAddr())
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			io.ReadFull(s, make([]byte, 1)) // closing with unread data would reset
			s.Write([]byte("from guest"))
			s.Close()
		}()
		c.Write([]byte("x"))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "from guest" {
			t.Errorf("read %q, %v", got, err)
		}
		c.Close()
	}

	// Concurrent dials are matched to their replies.
	errc := make(chan error, 8)
	for range 8 {
		go func() {
			c, err := a.DialTCP(ctx, guest)
			if err == nil {
				c.Close()
			}
			errc <- err
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}

	// UDP to loopback inside the namespace.
	u, err := a.DialUDP(ctx, netip.MustParseAddrPort("127.0.0.1:5556"))
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("ping"))
	buf := make([]byte, 16)
	udpLn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := udpLn.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("UDP inside: %q from %v: %v", buf[:n], from, err)
	}
	u.Close()

	// A dial that cannot complete (nobody answers ARP for .50) honours the
	// context, and the agent keeps working afterwards.
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if _, err := a.DialTCP(short, netip.MustParseAddrPort("10.0.2.50:80")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blackhole dial: %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("blackhole dial took %v", d)
	}
	if _, err := a.DialTCP(ctx, netip.AddrPort{}); err == nil {
		t.Error("dial of an invalid address succeeded")
	}
	c, err := a.DialTCP(ctx, guest)
	if err != nil {
		t.Fatalf("dial after a timeout: %v", err)
	}
	c.Close()
}

// TestJoinPrecreated attaches to a TAP created inside beforehand, the way
// RootlessKit prepares tap0, without Configure.
func TestJoinPrecreated(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	for _, cmd := range [][]string{
		{"ip", "tuntap", "add", "tap0", "mode", "tap"},
		{"ip", "link", "set", "tap0", "mtu", "65520"},
		{"ip", "addr", "add", "10.0.2.100/24", "dev", "tap0"},
		{"ip", "link", "set", "tap0", "up"},
	} {
		if out, err := inNS(t, nil, pid, cmd...); err != nil {
			t.Fatalf("%v: %v: %s", cmd, err, out)
		}
	}
	before := nsLinks(t, netnsOf(pid))["tap0"].Attrs().Index
	a := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{VnetHdr: true})
	info := a.TapInfo()
	if info.Index != before || info.MTU != 65520 || !info.VnetHdr {
		t.Errorf("TapInfo %+v, want index %d, MTU 65520", info, before)
	}
	d := mustDevice(t, a)
	r := respond(d)
	udpEcho(t, a)
	if err := a.Close(); err != nil {
		t.Error(err)
	}
	d.Close()
	<-r.done
	if l := nsLinks(t, netnsOf(pid))["tap0"]; l == nil || l.Attrs().Index != before {
		t.Error("the persistent tap0 did not survive")
	}
	// A second helper can attach again.
	a2 := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{})
	if a2.TapInfo().Index != before || a2.TapInfo().VnetHdr {
		t.Errorf("second attach: %+v", a2.TapInfo())
	}
	a2.TapFile().Close()
}

// TestJoinPathMode uses --netns-type=path with --userns-path: a netns bind
// mount (ip netns attach) and the user namespace file.
func TestJoinPathMode(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	name := nstest.Prefix + "path" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "attach", name, strconv.Itoa(pid)).CombinedOutput(); err != nil {
		nstest.Skipf(t, "ip netns attach: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	target := nsjoin.Target{NetnsPath: nstest.Path(name), UsernsPath: "/proc/" + strconv.Itoa(pid) + "/ns/user"}
	a := mustJoin(t, target, nsjoin.TapConfig{Configure: true, VnetHdr: true, Name: "eth7"})
	if a.TapInfo().Name != "eth7" {
		t.Errorf("TapInfo %+v", a.TapInfo())
	}
	d := mustDevice(t, a)
	respond(d)
	udpEcho(t, a)
	if _, err := a.TargetAlive(); !errors.Is(err, nsjoin.ErrNoTargetProcess) {
		t.Errorf("TargetAlive in path mode: %v", err)
	}
	// Without the user namespace (root may: it owns every namespace).
	a2 := mustJoin(t, nsjoin.Target{NetnsPath: nstest.Path(name)}, nsjoin.TapConfig{Name: "eth8"})
	a2.TapFile().Close()
}

// TestTargetAlive watches the target process go away.
func TestTargetAlive(t *testing.T) {
	requireTools(t)
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--net", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	self, _ := os.Readlink("/proc/self/ns/net")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ns, _ := os.Readlink(netnsOf(cmd.Process.Pid)); ns != "" && ns != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no namespace")
		}
	}
	time.Sleep(50 * time.Millisecond) // let unshare exec sleep
	a := mustJoin(t, nsjoin.Target{PID: cmd.Process.Pid}, nsjoin.TapConfig{Configure: true})
	defer a.TapFile().Close()
	if alive, err := a.TargetAlive(); !alive || err != nil {
		t.Fatalf("TargetAlive = %v, %v", alive, err)
	}
	cmd.Process.Kill()
	time.Sleep(100 * time.Millisecond) // a zombie still: not reaped yet
	if alive, err := a.TargetAlive(); alive || err != nil {
		t.Errorf("TargetAlive after kill (zombie) = %v, %v", alive, err)
	}
	cmd.Wait()
	if alive, err := a.TargetAlive(); alive || err != nil {
		t.Errorf("TargetAlive after reap = %v, %v", alive, err)
	}
	// The agent lives on (it is inside the namespace itself).
	if _, err := a.DialUDP(context.Background(), netip.MustParseAddrPort("127.0.0.1:9")); err != nil {
		t.Errorf("agent after the target died: %v", err)
	}
	a.Close()
	if _, err := a.TargetAlive(); !errors.Is(err, nsjoin.ErrClosed) {
		t.Errorf("TargetAlive after Close: %v", err)
	}
}

// TestHelperDies: when the helper is killed, dials fail cleanly and Wait
// says how it ended; the TAP keeps working.
func TestHelperDies(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	a := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Configure: true, VnetHdr: true})
	d := mustDevice(t, a)
	r := respond(d)
	if err := syscall.Kill(a.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Wait: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for range 100 { // the read loop notices the hang-up asynchronously
		if _, err = a.DialUDP(ctx, netip.MustParseAddrPort("127.0.0.1:9")); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, nsjoin.ErrClosed) {
		t.Errorf("dial after the helper died: %v", err)
	}
	if err := a.Close(); err == nil {
		t.Error("Close after a kill reported a clean exit")
	}
	if _, err := exec.LookPath("ping"); err == nil {
		if out, err := inNS(t, nil, pid, "ping", "-c1", "-W1", "10.0.2.2"); err != nil || r.pings.Load() == 0 {
			t.Errorf("TAP after the helper died: %v: %s", err, out)
		}
	}
}
