package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// Issue 10 §6 targets: a daemon process's PSS with 4,096 NAT flows or
// 10,000 idle proxied connections stays within memTarget, and is back
// within 2× its idle PSS one minute after they closed.
const memTarget = 256 << 20

// memOptIn gates the memory tests (they hold thousands of connections
// and wait a minute): SWITCHYARD_MEMORY=1 runs them; SWITCHYARD_MEMORY_N
// overrides the connection count, SWITCHYARD_MEMORY_SETTLE the wait.
func memOptIn(t *testing.T, n int) (int, time.Duration) {
	nstest.OptIn(t, "SWITCHYARD_MEMORY", "the daemon memory tests (issue 10 §6)")
	if v, err := strconv.Atoi(os.Getenv("SWITCHYARD_MEMORY_N")); err == nil && v > 0 {
		n = v
	}
	settle := time.Minute
	if v, err := time.ParseDuration(os.Getenv("SWITCHYARD_MEMORY_SETTLE")); err == nil {
		settle = v
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if need := uint64(n + 512); lim.Cur < need {
		t.Fatalf("RLIMIT_NOFILE %d: %d connections need %d", lim.Cur, n, need)
	}
	return n, settle
}

// memDaemon starts a daemon process for a memory test.
func memDaemon(t *testing.T) *proc {
	nstest.RequireNetAdmin(t)
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	os.WriteFile(resolv, nil, 0o644)
	return startProc(t, daemon.Config{Socket: filepath.Join(dir, "sy.sock"), StateDir: filepath.Join(dir, "state"), ResolvConf: resolv})
}

// pssOf reads a process's proportional set size.
func pssOf(t *testing.T, pid int) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no Pss in smaps_rollup")
	return 0
}

// echoEnv makes the test binary an echo server (TestMain): NETNS|ADDR.
const echoEnv = "SWITCHYARD_TEST_ECHO"

// runEcho listens on addr inside the namespace at path, answers each
// connection's first 64 bytes and keeps it open (no goroutine per idle
// connection). It prints "ready" once listening; a line on stdin closes
// every connection and prints "closed"; EOF on stdin ends it.
func runEcho(spec string) error {
	path, addr, _ := strings.Cut(spec, "|")
	var ln net.Listener
	if err := nsutil.Do(path, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		return err
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				var b [64]byte
				if _, err := io.ReadFull(c, b[:]); err == nil {
					c.Write(b[:])
				}
			}()
		}
	}()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		mu.Lock()
		closeAll(conns)
		conns = nil
		mu.Unlock()
		fmt.Println("closed")
	}
	return nil
}

// echoChild is runEcho in a child process (this process's descriptors
// are for the clients).
type echoChild struct {
	in  io.WriteCloser
	out *bufio.Scanner
}

func startEcho(t *testing.T, ns, addr string) *echoChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), echoEnv+"="+nstest.Path(ns)+"|"+addr)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	e := &echoChild{in: in, out: bufio.NewScanner(out)}
	if !e.out.Scan() || e.out.Text() != "ready" {
		t.Fatalf("echo server did not start: %q", e.out.Text())
	}
	return e
}

func (e *echoChild) closeAll() {
	fmt.Fprintln(e.in, "close")
	e.out.Scan()
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		c.Close()
	}
}

// exchange sends 64 bytes on each connection and reads the echo.
func exchange(t *testing.T, cs []net.Conn) {
	t.Helper()
	var b [64]byte
	for i, c := range cs {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(b[:]); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		c.SetDeadline(time.Time{})
	}
}

// measure reports the daemon's PSS idle, just after the connections
// opened (one exchange each), once they have been idle for 25 s (the
// target: a daemon holding idle connections), and settle after they
// closed, and checks the targets.
func measure(t *testing.T, p *proc, what string, settle time.Duration, open func() []net.Conn, srv *echoChild) {
	time.Sleep(2 * time.Second)
	pid := p.cmd.Process.Pid
	idle := pssOf(t, pid)
	start := time.Now()
	cs := open()
	exchange(t, cs)
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	opened := pssOf(t, pid)
	time.Sleep(25 * time.Second)
	held := pssOf(t, pid)
	closeAll(cs)
	srv.closeAll()
	time.Sleep(settle)
	after := pssOf(t, pid)
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	t.Logf("%s: daemon PSS idle %.1f MiB; %d connections opened and exchanged in %v: %.1f MiB 2 s later, %.1f MiB idle 25 s later; %v after closing %.1f MiB (%.2f× idle)",
		what, mib(idle), len(cs), took.Round(time.Millisecond), mib(opened), mib(held), settle, mib(after), float64(after)/float64(idle))
	if held > memTarget {
		t.Errorf("%s: PSS %.1f MiB with the connections open and idle, target ≤ %.0f MiB", what, mib(held), mib(memTarget))
	}
	if settle >= time.Minute && after > 2*idle {
		t.Errorf("%s: PSS %.1f MiB a minute after closing, target ≤ 2× idle (%.1f MiB)", what, mib(after), mib(2*idle))
	}
}

// TestMemoryNATFlows: 4,096 TCP flows from an endpoint through the NAT to
// a host-reachable server, 64 bytes each way on each.
func TestMemoryNATFlows(t *testing.T) {
	n, settle := memOptIn(t, 4096)
	p := memDaemon(t)
	ep := nstest.NewNetns(t)
	if _, err := p.c.Attach(context.Background(), "default", api.EndpointCreate{Netns: ep}); err != nil {
		t.Fatal(err)
	}
	remote, ip := remoteHost(t, "10.219.0")
	srv := startEcho(t, remote, ip+":8080")
	measure(t, p, "NAT", settle, func() []net.Conn {
		cs := make([]net.Conn, 0, n)
		err := nsutil.Do(nstest.Path(ep), func() error {
			for range n {
				c, err := net.DialTimeout("tcp", ip+":8080", 10*time.Second)
				if err != nil {
					return err
				}
				cs = append(cs, c)
			}
			return nil
		})
		if err != nil {
			closeAll(cs)
			t.Fatalf("after %d connections: %v", len(cs), err)
		}
		return cs
	}, srv)
}

// TestMemoryProxyConns: 10,000 connections through a userspace-path
// published port to an endpoint's server, 64 bytes each way, then idle.
func TestMemoryProxyConns(t *testing.T) {
	n, settle := memOptIn(t, 10000)
	p := memDaemon(t)
	ns := nstest.NewNetns(t)
	ep, err := p.c.Attach(context.Background(), "default", api.EndpointCreate{Netns: ns, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	srv := startEcho(t, ns, strings.Split(ep.IP, "/")[0]+":80")
	if _, err := p.c.Publish(context.Background(), "default", api.PublishRequest{Spec: "127.0.0.1:18380:web:80", Path: api.PathUserspace}); err != nil {
		t.Fatal(err)
	}
	measure(t, p, "proxy", settle, func() []net.Conn {
		cs := make([]net.Conn, 0, n)
		for range n {
			c, err := net.DialTimeout("tcp", "127.0.0.1:18380", 10*time.Second)
			if err != nil {
				closeAll(cs)
				t.Fatalf("after %d connections: %v", len(cs), err)
			}
			cs = append(cs, c)
		}
		return cs
	}, srv)
}
