package nsjoin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/rootless/nsjoin"
)

// Environment of TestUnprivHelper, which TestUnprivileged runs as the test
// user in a copy of the test binary.
const (
	helperPIDEnv     = "NSJOIN_TEST_PID"     // the user's namespace
	helperModeEnv    = "NSJOIN_TEST_MODE"    // "ok" or "denied"
	helperForeignEnv = "NSJOIN_TEST_FOREIGN" // a netns root owns
)

// TestUnprivileged runs Join as an ordinary user against a user and
// network namespace that user created, as rootless Podman or RootlessKit
// would, and has root join that namespace too.
func TestUnprivileged(t *testing.T) {
	requireTools(t)
	for _, tool := range []string{"useradd", "userdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s: %v", tool, err)
		}
	}
	name := fmt.Sprintf("sytest%d", rand.IntN(1_000_000))
	if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		nstest.Skipf(t, "useradd %s: %v: %s", name, err, out)
	}
	// Registered first, so it runs last, after the user's processes died.
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	pid := startUserns(t, cred)
	foreign := nstest.Path(nstest.NewNetns(t))

	// A copy of the test binary the user may execute (go test builds it in
	// a directory only root can enter).
	dir, err := os.MkdirTemp("", "nsjoin-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "nsjoin.test")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bin)
	runHelper := func(t *testing.T, mode string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-test.run=^TestUnprivHelper$", "-test.v", "-test.count=1")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), helperPIDEnv+"="+strconv.Itoa(pid), helperModeEnv+"="+mode,
			helperForeignEnv+"="+foreign)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		t.Logf("helper as %s (uid %d):\n%s", name, uid, out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestUnprivHelper") {
			t.Fatalf("helper: %v", err)
		}
	}

	// Root's UID is not mapped in the user's namespace: preserving it would
	// leave the helper powerless, so root enters only the netns. This works
	// with /dev/net/tun at 0600.
	t.Run("root", func(t *testing.T) {
		a := mustJoin(t, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Configure: true, VnetHdr: true})
		d := mustDevice(t, a)
		respond(d)
		udpEcho(t, a)
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})

	fi, err := os.Stat("/dev/net/tun")
	if err != nil {
		t.Fatal(err)
	}
	setTunMode := func(mode os.FileMode) {
		if err := os.Chmod("/dev/net/tun", mode); err != nil {
			t.Fatal(err)
		}
	}
	orig := fi.Mode().Perm()
	t.Cleanup(func() { setTunMode(orig) })

	if orig&0o006 != 0o006 {
		setTunMode(0o600)
		t.Run("denied", func(t *testing.T) { runHelper(t, "denied") })
	}
	// What distributions ship, and rootless use needs.
	setTunMode(0o666)
	t.Run("user", func(t *testing.T) { runHelper(t, "ok") })
}

// copyFile copies the running test binary to dst, executable by all.
func copyFile(t *testing.T, dst string) {
	t.Helper()
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUnprivHelper is TestUnprivileged's other half, run as the test user.
func TestUnprivHelper(t *testing.T) {
	nstest.OptIn(t, helperPIDEnv, "TestUnprivileged's helper half (it sets it)")
	pid, err := strconv.Atoi(os.Getenv(helperPIDEnv))
	if err != nil {
		t.Fatalf("%s: %v", helperPIDEnv, err)
	}
	if os.Geteuid() == 0 {
		t.Fatal("the helper test must not run as root")
	}
	before := children(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A namespace root owns is out of reach: nsenter says so.
	_, err = nsjoin.Join(ctx, nsjoin.Target{NetnsPath: os.Getenv(helperForeignEnv)}, nsjoin.TapConfig{}, nil)
	if err == nil || !strings.Contains(err.Error(), "nsenter") || !strings.Contains(err.Error(), "ermission") &&
		!strings.Contains(err.Error(), "not permitted") {
		t.Errorf("foreign netns: %v", err)
	}
	t.Logf("foreign netns: %v", err)

	if os.Getenv(helperModeEnv) == "denied" {
		_, err := nsjoin.Join(ctx, nsjoin.Target{PID: pid}, nsjoin.TapConfig{VnetHdr: true}, nil)
		if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "/dev/net/tun is mode 0600; rootless use needs it 0666") ||
			!strings.Contains(err.Error(), "chmod 0666 /dev/net/tun") {
			t.Errorf("Join with /dev/net/tun at 0600: %v", err)
		}
		t.Logf("/dev/net/tun at 0600: %v", err)
		noNewChildren(t, before)
		return
	}

	a, err := nsjoin.Join(ctx, nsjoin.Target{PID: pid}, nsjoin.TapConfig{Configure: true, VnetHdr: true, MTU: 65520}, nil)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	defer a.Close()
	info := a.TapInfo()
	t.Logf("TAP %+v, helper pid %d", info, a.PID())
	if info.Name != "tap0" || info.MTU != 65520 || !info.VnetHdr {
		t.Errorf("TapInfo %+v", info)
	}
	d := mustDevice(t, a)
	r := respond(d)
	if _, err := exec.LookPath("ping"); err == nil {
		if out, err := inNS(t, nil, pid, "ping", "-c1", "-W1", "10.0.2.2"); err != nil {
			t.Errorf("ping inside: %v: %s", err, out)
		}
	}
	udpEcho(t, a)
	if r.arps.Load() == 0 || r.udps.Load() == 0 {
		t.Errorf("responder saw %d ARP, %d UDP", r.arps.Load(), r.udps.Load())
	}
	// The user's helper can keep a client's address too.
	if haveSocat() {
		checkSourceKept(t, nil, pid, a)
	}
	helper := a.PID()
	if err := a.Close(); err != nil {
		t.Error(err)
	}
	checkSourceUndone(t, nil, pid)
	if !gone(helper) {
		t.Errorf("helper %d outlived Close", helper)
	}
	noNewChildren(t, before)
}
