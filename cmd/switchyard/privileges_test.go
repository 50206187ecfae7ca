package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// worldBinary copies the test binary into a directory every user may
// enter, so that it can run under another identity.
func worldBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sytest-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "switchyard")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// asNobody runs bin with args as uid/gid 65534 without supplementary
// groups (setpriv drops every capability with the UID) and returns its
// stderr and exit status.
func asNobody(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	nstest.RequireNetAdmin(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		nstest.Skipf(t, "needs setpriv (util-linux): %v", err)
	}
	cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return stderr.String(), cmd.ProcessState.ExitCode()
}

// TestUpWithoutCapNetAdmin: the daemon refuses to start without the
// capabilities attach needs, in one line, and creates no socket.
func TestUpWithoutCapNetAdmin(t *testing.T) {
	bin := worldBinary(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	sock := filepath.Join(dir, "sy.sock")
	stderr, code := asNobody(t, bin, "up", "--socket", sock)
	want := "switchyard: up: missing CAP_NET_ADMIN and CAP_SYS_ADMIN: run the daemon as root (it creates TAPs in network namespaces)\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket created: %v", err)
	}
}

// TestClientSocketRootOnly: a user who may not open the 0600 control
// socket is told so, in one line.
func TestClientSocketRootOnly(t *testing.T) {
	sockFlag, _ := startUp(t)
	sock := strings.TrimPrefix(sockFlag, "--socket=")
	// Let the user reach the socket itself: only its mode stops it.
	for d := filepath.Dir(sock); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	bin := worldBinary(t)
	for _, args := range [][]string{{"network", "ls"}, {"stats"}, {"capture", "-c", "1"}} {
		stderr, code := asNobody(t, bin, append(args, sockFlag)...)
		want := "switchyard: permission denied on " + sock + ": the control socket is root-only\n"
		if code != 1 || stderr != want {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", args, code, stderr, want)
		}
	}
}
