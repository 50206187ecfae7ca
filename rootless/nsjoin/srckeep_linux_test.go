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
	checkUDPSourceKept(t, cred, pid, a)
}

// checkUDPSourceKept does for UDP what checkSourceKept does for TCP: the
// guest's reply comes back to the transparent socket through the
// conntrack mark.
func checkUDPSourceKept(t *testing.T, cred *syscall.Credential, pid int, a *nsjoin.Agent) {
	t.Helper()
	const port = 5559
	ln := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-U", "-n", "--preserve-credentials",
		"socat", "-T5", "UDP-RECVFROM:"+strconv.Itoa(port)+",bind="+guestIP.String()+",fork",
		"SYSTEM:echo $SOCAT_PEERADDR")
	ln.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := ln.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ln.Process.Kill(); ln.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialUDPFrom(ctx, clientIP, netip.AddrPortFrom(guestIP, port))
	if err != nil {
		t.Fatalf("DialUDPFrom: %v", err)
	}
	defer c.Close()
	if la := c.LocalAddr().String(); !strings.HasPrefix(la, clientIP.String()+":") {
		t.Errorf("UDP local address %s, want %v", la, clientIP)
	}
	buf := make([]byte, 64)
	for i := 0; ; i++ {
		c.Write([]byte("who am i"))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			if got := strings.TrimSpace(string(buf[:n])); got != clientIP.String() {
				t.Errorf("the guest saw the datagram from %q, want %v", got, clientIP)
			}
			return
		}
		if i == 15 {
			t.Fatalf("no UDP reply through the conntrack mark: %v", err)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			time.Sleep(50 * time.Millisecond) // socat is not listening yet
		}
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
	if out, _ := inNS(t, cred, pid, "nft", "list", "tables"); strings.Contains(out, "switchyard_srckeep") {
		t.Errorf("nftables table left behind:\n%s", out)
	}
	if out, _ := inNS(t, cred, pid, "ip", "-6", "rule", "show"); strings.Contains(out, "0x5377") {
		t.Errorf("IPv6 fwmark rule left behind:\n%s", out)
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

	// An IPv6 client reaching the guest's IPv6 address is kept too; one
	// whose family differs from the guest's cannot be: the dial comes
	// from the guest's own address instead.
	guest6 := netip.MustParseAddr("fd00::100")
	if out, err := inNS(t, nil, pid, "ip", "-6", "addr", "add", guest6.String()+"/64", "dev", "tap0", "nodad"); err != nil {
		t.Fatalf("IPv6 address: %v %s", err, out)
	}
	for _, tc := range []struct {
		src, dst netip.Addr
		kept     bool
	}{
		{netip.MustParseAddr("2001:db8::1"), guest6, true},
		{netip.MustParseAddr("2001:db8::1"), guestIP, false},
	} {
		var ln net.Listener
		if err := nsutil.Do(netnsOf(pid), func() (err error) {
			ln, err = net.Listen("tcp", netip.AddrPortFrom(tc.dst, 5558).String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		peer := make(chan string, 1)
		go func() {
			if c, err := ln.Accept(); err == nil {
				peer <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap().String()
				c.Close()
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := a.DialTCPFrom(ctx, tc.src, netip.AddrPortFrom(tc.dst, 5558))
		cancel()
		if err != nil {
			t.Fatalf("%v to %v: %v", tc.src, tc.dst, err)
		}
		want := tc.dst.String()
		if tc.kept {
			want = tc.src.String()
		}
		if got := <-peer; got != want {
			t.Errorf("%v to %v: the guest saw %s, want %s", tc.src, tc.dst, got, want)
		}
		c.Close()
		ln.Close()
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	checkSourceUndone(t, nil, pid)
}
