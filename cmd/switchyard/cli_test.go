package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "switchyard")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sy runs the binary and returns stdout, stderr and the exit status.
func sy(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestUsageErrors(t *testing.T) {
	sock := "--socket=" + filepath.Join(t.TempDir(), "none.sock")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"attach", "default", sock}, 2, "usage: switchyard attach"},
		{[]string{"network", "create", "x", sock}, 2, "--subnet is required"},
		{[]string{"network", "bogus"}, 2, "unknown network command"},
		{[]string{"stats", "--bogus"}, 2, "unknown flag"},
		{[]string{"attach", "default", "ns", "--mtu", "big", sock}, 2, "invalid argument"},
		{[]string{"network", "ls", sock}, 1, "daemon is not running"},
		{[]string{"up", "--config", "/nonexistent/config.json"}, 1, "config"},
		{[]string{"help"}, 0, ""},
	}
	for _, tc := range cases {
		_, stderr, code := sy(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("switchyard %v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, stderr, tc.code, tc.msg)
		}
		if code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("switchyard %v: error is not one line: %q", tc.args, stderr)
		}
	}
}

// TestBadConfigFile: a configuration file that cannot be used stops `up`
// with one line naming the file and, where the decoder can place the
// mistake, its line and column.
func TestBadConfigFile(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ body, want string }{
		"syntax.json":  {"{\"networks\": [", ":1:15: unexpected EOF"},
		"unknown.json": {"{\"fdb_max\": 1,\n  \"bogus\": 1}", ":2:3: json: unknown field \"bogus\""},
		"type.json":    {"{\"networks\": [{\"name\": 5}]}", ":1:24: json: cannot unmarshal number"},
		"subnet.json":  {`{"networks": [{"name": "x", "subnet": "10.0.0.0/99"}]}`, `: network "x"`},
		"ageing.json":  {`{"ageing_time": "forever"}`, `: time: invalid duration "forever"`},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(tc.body), 0o600)
		_, stderr, code := sy(t, "up", "--config", p, "--socket", filepath.Join(dir, "s.sock"))
		if want := "switchyard: config " + p + tc.want; code != 1 || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q, want exit 1 and one line starting %q", name, code, stderr, want)
		}
	}
}

// startUp runs `switchyard up` on a private socket and returns the socket
// flag; the daemon is stopped with SIGTERM at the end of the test.
func startUp(t *testing.T, extra ...string) (string, *exec.Cmd) {
	t.Helper()
	nstest.RequireNetAdmin(t)
	sock := filepath.Join(t.TempDir(), "sy.sock")
	cmd := exec.Command(binary, append([]string{"up", "--socket", sock, "--state-dir", t.TempDir()}, extra...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("daemon did not start: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "--socket=" + sock, cmd
}

func TestDaemonBadInputAndCleanShutdown(t *testing.T) {
	sock, cmd := startUp(t)
	a := nstest.NewNetns(t)
	if _, stderr, code := sy(t, "network", "create", "blue", "--subnet", "10.201.9.0/24", sock); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	if _, stderr, code := sy(t, "attach", "blue", a, "--ip", "10.201.9.5", "--name", "web", sock); code != 0 {
		t.Fatalf("attach: %s", stderr)
	}
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"network", "create", "blue", "--subnet", "10.201.8.0/24"}, "already exists"},
		{[]string{"network", "create", "red", "--subnet", "10.201.8.0/33"}, "bad subnet"},
		{[]string{"network", "create", "red", "--subnet", "10.201.9.0/25"}, "overlaps"},
		{[]string{"network", "rm", "blue"}, "active endpoints"},
		{[]string{"network", "rm", "default"}, "pre-defined"},
		{[]string{"attach", "blue", "no-such-ns-xyz"}, "no-such-ns-xyz"},
		{[]string{"attach", "nope", a}, "network \"nope\" not found"},
		{[]string{"attach", "default", a, "--ip", "10.201.9.7"}, "outside the subnet"},
		{[]string{"attach", "default", a, "--mac", "nonsense"}, "bad MAC"},
		{[]string{"attach", "default", a, "--ip", "bad"}, "bad IP"},
		{[]string{"attach", "blue", a, "--name", "web2"}, "already attached"},
		{[]string{"detach", "blue", "ghost"}, "not found"},
		{[]string{"fdb", "nope"}, "not found"},
	}
	for _, tc := range cases {
		_, stderr, code := sy(t, append(tc.args, sock)...)
		if code != 1 || !strings.Contains(stderr, tc.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("switchyard %v: exit %d, stderr %q; want exit 1 and one line containing %q", tc.args, code, stderr, tc.msg)
		}
	}
	// Nothing half-created: still one endpoint, one interface besides lo.
	out, _, _ := sy(t, "endpoints", "--json", sock)
	var eps []api.Endpoint
	if err := json.Unmarshal([]byte(out), &eps); err != nil || len(eps) != 1 || eps[0].Name != "web" {
		t.Fatalf("endpoints after failed attaches: %v %q", err, out)
	}
	links, _ := nstest.Exec(a, "ip", "-o", "link")
	if strings.Count(links, "\n") != 1 {
		t.Fatalf("interfaces after failed attaches:\n%s", links)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v", err)
	}
	if out, err := nstest.Exec(a, "ip", "link", "show", "eth0"); err == nil {
		t.Fatalf("TAP left after shutdown: %s", out)
	}
	if _, err := os.Stat(strings.TrimPrefix(sock, "--socket=")); err == nil {
		t.Fatal("control socket left after shutdown")
	}
}
