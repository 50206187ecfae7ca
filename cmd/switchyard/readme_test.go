package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// The README's Try-it block lies between these markers, in a ```sh fence.
const (
	tryItBegin = "<!-- try-it:begin -->"
	tryItEnd   = "<!-- try-it:end -->"
)

// tryItBlock extracts the shell commands of the README's Try-it block.
func tryItBlock(readme []byte) (string, error) {
	_, rest, ok := bytes.Cut(readme, []byte(tryItBegin))
	if !ok {
		return "", fmt.Errorf("README.md has no %s marker", tryItBegin)
	}
	block, _, ok := bytes.Cut(rest, []byte(tryItEnd))
	if !ok {
		return "", fmt.Errorf("README.md has no %s marker", tryItEnd)
	}
	s := strings.TrimSpace(string(block))
	if !strings.HasPrefix(s, "```sh\n") || !strings.HasSuffix(s, "\n```") {
		return "", fmt.Errorf("the Try-it block is not one ```sh fence")
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "```sh\n"), "```"), nil
}

func TestTryItBlockExtraction(t *testing.T) {
	for _, tc := range []struct {
		name, readme, want string
		ok                 bool
	}{
		{"block", "x\n" + tryItBegin + "\n```sh\nip netns add a\necho hi\n```\n" + tryItEnd + "\ny", "ip netns add a\necho hi\n", true},
		{"no begin", "```sh\nls\n```\n" + tryItEnd, "", false},
		{"no end", tryItBegin + "\n```sh\nls\n```\n", "", false},
		{"no fence", tryItBegin + "\nls\n" + tryItEnd, "", false},
	} {
		got, err := tryItBlock([]byte(tc.readme))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q, ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

// tryItWrapper runs in a private mount namespace (unshare -m): fresh
// /run/netns and /etc/netns, so the README's namespace names (a, b, c)
// and their resolv.conf files collide with nothing on the host; a fresh
// daemon; the block with bash -e; then it checks the daemon removed every
// /etc/netns file it wrote and stops it.
const tryItWrapper = `set -eu
mkdir -p /run/netns /etc/netns
mount -t tmpfs switchyard-try-it /run/netns
mount -t tmpfs switchyard-try-it /etc/netns
# A state directory of its own, where the daemon keeps one.
state=; switchyard up --help | grep -q -- --state-dir && state="--state-dir=$TRY_STATE"
switchyard up $state >"$TRY_LOG" 2>&1 &
up=$!
cleanup() {
	for ns in $(ip netns list | cut -d' ' -f1); do
		ip netns pids "$ns" | xargs -r kill
		ip netns del "$ns"
	done
	kill "$up" 2>/dev/null && wait "$up" || true
}
trap cleanup EXIT
for i in $(seq 100); do [ -S "$SWITCHYARD_SOCKET" ] && break; sleep 0.1; done
[ -S "$SWITCHYARD_SOCKET" ] || { echo "the daemon did not start"; exit 1; }
bash -e -x -o pipefail "$TRY_BLOCK"
for i in $(seq 100); do [ -z "$(ls -A /etc/netns)" ] && break; sleep 0.1; done
[ -z "$(ls -A /etc/netns)" ] || { echo "left in /etc/netns:"; ls -lR /etc/netns; exit 1; }
trap - EXIT
kill -TERM "$up"; wait "$up"
echo try-it-passed
`

// TestReadmeTryIt runs the README's Try-it block, as written there, on a
// fresh daemon, and checks the host's /etc/resolv.conf is untouched (the
// DHCP step once rewrote it).
func TestReadmeTryIt(t *testing.T) {
	nstest.RequireNetAdmin(t)
	for _, tool := range []string{"unshare", "busybox", "curl", "ip", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block, err := tryItBlock(readme)
	if err != nil {
		t.Fatal(err)
	}
	resolvBefore, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blockFile := filepath.Join(dir, "try-it.sh")
	if err := os.WriteFile(blockFile, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "bash", "-c", tryItWrapper)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"),
		"SWITCHYARD_SOCKET="+filepath.Join(dir, "sy.sock"),
		"TRY_STATE="+filepath.Join(dir, "state"),
		"TRY_LOG="+filepath.Join(dir, "daemon.log"),
		"TRY_BLOCK="+blockFile)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Errorf("the Try-it block did not finish in 3 minutes")
	}
	if err != nil || !strings.Contains(string(out), "try-it-passed") {
		log, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
		t.Fatalf("Try-it block: %v\n%s\ndaemon log:\n%s", err, out, log)
	}
	for _, want := range []string{"hello from a", "Name:\twww.blue\nAddress: 10.91.0.2", "lease of 10.91.0.4 obtained"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if after, err := os.ReadFile("/etc/resolv.conf"); err != nil || !bytes.Equal(after, resolvBefore) {
		t.Errorf("the host's /etc/resolv.conf changed (%v):\nbefore:\n%s\nafter:\n%s", err, resolvBefore, after)
	}
}
