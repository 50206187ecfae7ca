package nsjoin_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/rootless/nsjoin"
)

// noNewChildren fails t if the process has children that were not in
// before (waiting briefly for stragglers to be reaped).
func noNewChildren(t *testing.T, before []int) {
	t.Helper()
	var extra []int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		extra = extra[:0]
		for _, pid := range children(t) {
			if !slices.Contains(before, pid) {
				extra = append(extra, pid)
			}
		}
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("children left behind: %v", extra)
			return
		}
	}
}

// TestJoinBadInput needs no privileges: everything fails before a helper
// is started.
func TestJoinBadInput(t *testing.T) {
	if _, err := exec.LookPath("nsenter"); err != nil {
		nstest.Skipf(t, "needs nsenter: %v", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	self := nsjoin.Target{PID: os.Getpid()}
	before := children(t)
	for _, tc := range []struct {
		what   string
		target nsjoin.Target
		tap    nsjoin.TapConfig
		is     error
		want   string
	}{
		{"dead PID", nsjoin.Target{PID: dead.Process.Pid}, nsjoin.TapConfig{}, os.ErrNotExist, "does not exist"},
		{"missing netns path", nsjoin.Target{NetnsPath: "/nonexistent/netns"}, nsjoin.TapConfig{}, os.ErrNotExist, "no such file"},
		{"netns path is a user namespace", nsjoin.Target{NetnsPath: "/proc/self/ns/user"}, nsjoin.TapConfig{}, nil, "not a network namespace"},
		{"netns path is a file", nsjoin.Target{NetnsPath: "/etc/hostname"}, nsjoin.TapConfig{}, nil, "not a network namespace"},
		{"userns path is a netns", nsjoin.Target{NetnsPath: "/proc/self/ns/net", UsernsPath: "/proc/self/ns/net"}, nsjoin.TapConfig{}, nil, "not a user namespace"},
		{"missing userns path", nsjoin.Target{NetnsPath: "/proc/self/ns/net", UsernsPath: "/nonexistent/userns"}, nsjoin.TapConfig{}, os.ErrNotExist, "no such file"},
		{"no target", nsjoin.Target{}, nsjoin.TapConfig{}, nil, "no target"},
		{"userns only", nsjoin.Target{UsernsPath: "/proc/self/ns/user"}, nsjoin.TapConfig{}, nil, "needs NetnsPath"},
		{"PID and path", nsjoin.Target{PID: 1, NetnsPath: "/proc/1/ns/net"}, nsjoin.TapConfig{}, nil, "mutually exclusive"},
		{"PID with userns path that is a netns", nsjoin.Target{PID: os.Getpid(), UsernsPath: "/proc/self/ns/net"}, nsjoin.TapConfig{}, nil, "not a user namespace"},
		{"PID with missing userns path", nsjoin.Target{PID: os.Getpid(), UsernsPath: "/nonexistent/userns"}, nsjoin.TapConfig{}, os.ErrNotExist, "no such file"},
		{"negative PID", nsjoin.Target{PID: -4}, nsjoin.TapConfig{}, nil, "bad PID"},
		{"MAC without configure", self, nsjoin.TapConfig{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}, nil, "need Configure"},
		{"long name", self, nsjoin.TapConfig{Name: "abcdefghijklmnop"}, nil, "too long"},
		{"name with slash", self, nsjoin.TapConfig{Name: "a/b"}, nil, "invalid interface name"},
		{"MTU", self, nsjoin.TapConfig{MTU: 65522}, nil, "out of range"},
		{"multicast MAC", self, nsjoin.TapConfig{Configure: true, MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}}, nil, "unicast"},
		{"gateway outside", self, nsjoin.TapConfig{Configure: true, Gateway: netip.MustParseAddr("10.0.3.2")}, nil, "outside 10.0.2.0/24"},
		{"gateway is self", self, nsjoin.TapConfig{Configure: true, Gateway: netip.MustParseAddr("10.0.2.100")}, nil, "own address"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a, err := nsjoin.Join(ctx, tc.target, tc.tap, nil)
		cancel()
		if err == nil {
			a.Close()
			t.Errorf("%s: Join succeeded", tc.what)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not mention %q", tc.what, err, tc.want)
		}
		t.Logf("%s: %v", tc.what, err)
	}
	noNewChildren(t, before)
}

// TestJoinHelperFailures covers errors that happen after the helper
// started: inside it (reported over the socket) and in nsenter (its
// stderr).
func TestJoinHelperFailures(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	other := startUserns(t, nil)
	if out, err := inNS(t, nil, pid, "ip", "tuntap", "add", "tun0", "mode", "tun"); err != nil {
		t.Fatalf("ip tuntap add: %v: %s", err, out)
	}
	first := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Configure: true})
	defer first.TapFile().Close()
	before := children(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A TUN device of that name exists: TUNSETIFF refuses IFF_TAP.
	_, err := nsjoin.Join(ctx, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Name: "tun0", VnetHdr: true}, nil)
	var re *nsjoin.RemoteError
	if !errors.As(err, &re) || !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "TUNSETIFF: invalid argument") {
		t.Errorf("TAP over a TUN: %v", err)
	}
	t.Logf("TAP over a TUN: %v", err)

	// Configure fails half-way (a second default route): the new TAP goes.
	_, err = nsjoin.Join(ctx, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Name: "tap1", Configure: true,
		Addr: netip.MustParsePrefix("10.0.2.101/24")}, nil)
	if !errors.Is(err, syscall.EEXIST) || !strings.Contains(err.Error(), "default route") {
		t.Errorf("second default route: %v", err)
	}
	t.Logf("second default route: %v", err)
	if _, ok := nsLinks(t, netnsOf(pid))["tap1"]; ok {
		t.Error("tap1 left behind")
	}

	// The user namespace does not own the netns (nsenter as root would
	// even manage, entering the netns first, but the helper would then lack
	// CAP_NET_ADMIN over it).
	_, err = nsjoin.Join(ctx, nsjoin.Target{NetnsPath: netnsOf(pid), UsernsPath: "/proc/" + strconv.Itoa(other) + "/ns/user"},
		nsjoin.TapConfig{}, nil)
	if err == nil || !strings.Contains(err.Error(), "not owned by user namespace") {
		t.Errorf("foreign user namespace: %v", err)
	}
	t.Logf("foreign user namespace: %v", err)

	// A cancelled context stops the start.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := nsjoin.Join(cctx, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Name: "tap2"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Join: %v", err)
	}
	noNewChildren(t, before)
	if _, ok := nsLinks(t, netnsOf(pid))["tap2"]; ok {
		t.Error("tap2 left behind")
	}
}
