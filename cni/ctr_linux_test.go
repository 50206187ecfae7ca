package cni_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// ctr's --cni reads its configuration from these fixed places.
const (
	cniConfDir = "/etc/cni/net.d"
	cniBinDir  = "/opt/cni/bin"
)

// installPlugin links the plugin into /opt/cni/bin and writes a
// configuration list that sorts first in /etc/cni/net.d (ctr uses the
// first); both go away at cleanup, and so does /opt/cni/bin if the test
// made it.
func installPlugin(t *testing.T, conflist string) {
	t.Helper()
	link := filepath.Join(cniBinDir, "switchyard")
	if _, err := os.Lstat(link); err == nil {
		t.Fatalf("%s exists already: not overwriting an installed plugin", link)
	}
	made := []string{}
	for _, d := range []string{"/opt/cni", cniBinDir, cniConfDir} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			made = append(made, d)
		}
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	conf := filepath.Join(cniConfDir, "00-sytest-"+hex.EncodeToString(suffix)+".conflist")
	t.Cleanup(func() {
		os.Remove(conf)
		os.Remove(link)
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	})
	if err := os.Symlink(filepath.Join(binDir, "switchyard"), link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(conflist), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startContainerd runs a containerd of the test's own (socket, root and
// state in dir, CRI off) and returns its socket.
func startContainerd(t *testing.T, dir string) string {
	t.Helper()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte("version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"), 0o644)
	sock := filepath.Join(dir, "c.sock")
	cmd := exec.Command("containerd", "--config", cfg, "--address", sock, "--root", filepath.Join(dir, "root"),
		"--state", filepath.Join(dir, "state"))
	var logb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("containerd log:\n%s", tail(logb.String(), 3000))
		}
	})
	for i := 0; ; i++ {
		if exec.Command("ctr", "-a", sock, "version").Run() == nil {
			return sock
		}
		if i == 100 {
			t.Fatalf("containerd did not start:\n%s", logb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestCtrRunCNI runs a container with containerd's `ctr run --cni`: the
// runtime execs the plugin, the container gets its address and reaches
// the gateway, and the endpoint is gone once the container is removed.
func TestCtrRunCNI(t *testing.T) {
	for _, tool := range []string{"containerd", "ctr", "runc", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s (Debian containerd, busybox-static): %v", tool, err)
		}
	}
	l := startDaemon(t)
	dir, err := os.MkdirTemp("", "syctr-") // short: containerd's socket path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	installPlugin(t, fmt.Sprintf(`{"cniVersion":"1.0.0","name":"sytestctr","plugins":[{"type":"switchyard",
		"socket":%q,"network":"cnictr","subnet":"10.216.9.0/24"}]}`, l.sock))
	sock := startContainerd(t, dir)
	ctr := func(args ...string) (string, error) {
		out, err := exec.Command("ctr", append([]string{"-a", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	image := "docker.io/library/sytest-ctr:busybox"
	ociArchive(t, filepath.Join(dir, "img.tar"), image)
	if out, err := ctr("image", "import", "--snapshotter", "native", filepath.Join(dir, "img.tar")); err != nil {
		t.Fatalf("ctr image import: %v\n%s", err, out)
	}
	out, err := ctr("run", "--rm", "--cni", "--snapshotter", "native", image, "sytest-ctr",
		"sh", "-c", "ip -o -4 addr show eth0; ping -c 1 -W 2 10.216.9.1")
	if err != nil {
		t.Fatalf("ctr run --cni: %v\n%s", err, out)
	}
	if !strings.Contains(out, "10.216.9.2/24") || !strings.Contains(out, "1 packets received") {
		t.Fatalf("container output:\n%s", out)
	}
	for i := 0; len(endpoints(t, l, "cnictr")) != 0; i++ {
		if i == 50 {
			t.Fatalf("endpoint still attached after the container was removed: %+v", endpoints(t, l, "cnictr"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
