package nsjoin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/rootless/nsjoin"
)

// clientIP is a client address that exists nowhere: the guest must still
// see it as the peer of a DialTCPFrom connection.
var clientIP = netip.MustParseAddr("192.0.2.77")

// checkSourceKept has a socat listener inside pid's namespaces (run as
// cred) tell the peer address it sees for a DialTCPFrom connection, and
// checks that the policy routing is in place while the agent runs.
func checkSourceKept(t *testing.T, cred *syscall.Credential, pid int, a *nsjoin.Agent) {
	t.Helper()
	const port = 5557
	ln := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-U", "-n", "--preserve-credentials",
		"socat", "-T5", "TCP-LISTEN:"+strconv.Itoa(port)+",bind="+guestIP.String()+",reuseaddr",
		"SYSTEM:echo $SOCAT_PEERADDR")
	ln.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := ln.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ln.Process.Kill(); ln.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []byte
	for {
		c, err := a.DialTCPFrom(ctx, clientIP, netip.AddrPortFrom(guestIP, port))
		if errors.Is(err, syscall.ECONNREFUSED) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond) // socat is not listening yet
			continue
		}
		if err != nil {
			t.Fatalf("DialTCPFrom: %v", err)
		}
		if la := c.LocalAddr().String(); !strings.HasPrefix(la, clientIP.String()+":") {
			t.Errorf("local address %s, want %v", la, clientIP)
		}
		got, err = io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		break
	}
	if strings.TrimSpace(string(got)) != clientIP.String() {
		t.Errorf("the guest saw the connection from %q, want %v", got, clientIP)
	}
	if out, _ := inNS(t, cred, pid, "ip", "rule", "show"); !strings.Contains(out, "fwmark 0x5377") {
		t.Errorf("no fwmark rule while the agent runs:\n%s", out)
	}
}

// haveSocat reports whether socat, checkSourceKept's listener, is here.
func haveSocat() bool {
	_, err := exec.LookPath("socat")
	return err == nil
}

// checkSourceUndone checks that a closed agent left no rule, route or
// sysctl change behind.
func checkSourceUndone(t *testing.T, cred *syscall.Credential, pid int) {
	t.Helper()
	if out, _ := inNS(t, cred, pid, "ip", "rule", "show"); strings.Contains(out, "0x5377") {
		t.Errorf("fwmark rule left behind:\n%s", out)
	}
	if out, _ := inNS(t, cred, pid, "ip", "route", "show", "table", "all"); strings.Contains(out, "table 21367") {
		t.Errorf("route table left behind:\n%s", out)
	}
	if out, _ := inNS(t, cred, pid, "cat", "/proc/sys/net/ipv4/tcp_fwmark_accept"); out != "0" {
		t.Errorf("tcp_fwmark_accept left at %q", out)
	}
}

// TestDialTCPFrom: the guest sees the client's address, not its own, and
// the routing that makes it work is gone with the agent.
func TestDialTCPFrom(t *testing.T) {
	requireTools(t)
	if !haveSocat() {
		nstest.Skip(t, "needs socat")
	}
	pid := startUserns(t, nil)
	a := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Configure: true, VnetHdr: true})
	checkSourceKept(t, nil, pid, a)

	// An IPv6 client's address cannot be kept: the dial comes from the
	// guest's own address instead.
	var ln net.Listener
	if err := nsutil.Do(netnsOf(pid), func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(guestIP, 5558).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := a.DialTCPFrom(ctx, netip.MustParseAddr("2001:db8::1"), netip.AddrPortFrom(guestIP, 5558))
	if err != nil {
		t.Fatalf("IPv6 source: %v, want a plain dial", err)
	}
	if la := c.LocalAddr().String(); !strings.HasPrefix(la, guestIP.String()+":") {
		t.Errorf("IPv6 source: local address %s, want the guest's %v", la, guestIP)
	}
	c.Close()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	checkSourceUndone(t, nil, pid)
}
