package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/portmap"
)

// netHost is a namespace standing for a host: `switchyard up` runs inside
// it, so its nftables table, ip_forward and host
// ports are the test's own, and routing through it is real routing.
type netHost struct {
	t     *testing.T
	ns    string
	sock  string
	state string // the daemon's --state-dir, the test's own
	cmd   *exec.Cmd
	errb  *bytes.Buffer
}

// newNetHost creates the host namespace, forwarding off (nothing runs in
// it yet).
func newNetHost(t *testing.T) *netHost {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.Skip(t, "needs nft: ", err)
	}
	dir := t.TempDir()
	h := &netHost{t: t, ns: nstest.NewNetns(t), sock: filepath.Join(dir, "sy.sock"), state: filepath.Join(dir, "state")}
	// A new namespace copies the host's ip_forward
	// (net.core.devconf_inherit_init_net=0): a fresh host has it off.
	if out, err := nstest.Exec(h.ns, "sysctl", "-qw", "net.ipv4.ip_forward=0"); err != nil {
		t.Fatal(err, out)
	}
	return h
}

// up starts the daemon in the host namespace, prefixed by wrap (e.g.
// prlimit), and stops it with SIGTERM when the test ends.
func (h *netHost) up(wrap ...string) {
	h.t.Helper()
	argv := append(wrap, "ip", "netns", "exec", h.ns, binary, "up", "--socket", h.sock, "--state-dir", h.state)
	h.cmd = exec.Command(argv[0], argv[1:]...)
	h.errb = &bytes.Buffer{}
	h.cmd.Stderr = h.errb
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	cmd := h.cmd
	h.t.Cleanup(func() {
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
		if i == 100 {
			h.t.Fatalf("daemon did not start: %s", h.errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// down stops the daemon with SIGTERM and waits for it.
func (h *netHost) down() {
	h.t.Helper()
	h.cmd.Process.Signal(syscall.SIGTERM)
	if err := h.cmd.Wait(); err != nil {
		h.t.Errorf("daemon exit: %v: %s", err, h.errb.String())
	}
}

// kill9 kills the daemon as a crash would.
func (h *netHost) kill9() {
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// sy runs a client command against the host's daemon; it fails the test
// unless the command succeeds.
func (h *netHost) sy(args ...string) string {
	h.t.Helper()
	out, stderr, code := sy(h.t, append(args, "--socket", h.sock)...)
	if code != 0 {
		h.t.Fatalf("switchyard %v: exit %d: %s", args, code, stderr)
	}
	return out
}

// table is the daemon's nftables table.
func (h *netHost) table() string { return portmap.TableName(h.sock) }

// sysctl reads a sysctl inside the host namespace.
func (h *netHost) sysctl(name string) string {
	out, _ := nstest.Exec(h.ns, "sysctl", "-n", name)
	return strings.TrimSpace(out)
}

// must runs a command and fails the test if it fails.
func must(t *testing.T, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v %s", argv, err, out)
	}
}

// linkClient creates a client namespace joined to the host by a veth
// pair: the host gets prefix.1/24, the client prefix.2/24 with its
// default route through the host. It returns the client namespace.
func (h *netHost) linkClient(prefix string) string {
	h.t.Helper()
	c := nstest.NewNetns(h.t)
	var b [3]byte
	rand.Read(b[:])
	name := "syh" + hex.EncodeToString(b[:])
	must(h.t, "ip", "-n", h.ns, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", c)
	must(h.t, "ip", "-n", h.ns, "addr", "add", prefix+".1/24", "dev", name)
	must(h.t, "ip", "-n", h.ns, "link", "set", name, "up")
	must(h.t, "ip", "-n", c, "addr", "add", prefix+".2/24", "dev", "eth0")
	must(h.t, "ip", "-n", c, "link", "set", "eth0", "up")
	must(h.t, "ip", "-n", c, "route", "add", "default", "via", prefix+".1")
	return c
}

// serveTCP answers every connection to addr inside ns with reply.
func serveTCP(t *testing.T, ns, addr, reply string) {
	t.Helper()
	var ln net.Listener
	if err := nsutil.Do(nstest.Path(ns), func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(reply))
			c.Close()
		}
	}()
}

// ask connects from ns to addr and returns what the server wrote.
func ask(ns, addr string) (string, error) {
	var c net.Conn
	err := nsutil.Do(nstest.Path(ns), func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// nftList lists the host's table.
func (h *netHost) nftList() string {
	out, _ := nstest.Exec(h.ns, "nft", "list", "table", "ip", h.table())
	return out
}

// hostPortAddr is the address of the host port the daemon gave the
// network with subnet prefix (e.g. "10.90.0.").
func (h *netHost) hostPortAddr(prefix string) string {
	h.t.Helper()
	out, err := nstest.Exec(h.ns, "ip", "-o", "-4", "addr", "show")
	if err != nil {
		h.t.Fatal(err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasPrefix(f[1], "sy") && strings.HasPrefix(f[3], prefix) {
			return strings.Split(f[3], "/")[0]
		}
	}
	h.t.Fatalf("no host port in %s*:\n%s", prefix, out)
	return ""
}
