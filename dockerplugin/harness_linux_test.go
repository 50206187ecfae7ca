package dockerplugin_test

import (
	"crypto/rand"
	"encoding/hex"
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

// binary is the switchyard binary the tests run as the daemon.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-dockerplugin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "switchyard")
	if out, err := exec.Command("go", "build", "-o", binary, "../cmd/switchyard").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dockerEnv is a switchyard daemon serving the plugin under a unique name
// and a dockerd of its own (data root, exec root, socket), both in one
// test namespace, the "host" of the test.
type dockerEnv struct {
	t       *testing.T
	ns      string
	dir     string
	plugin  string
	sy      *api.Client
	dockerd *nstest.Dockerd
	image   string
}

// startProc starts argv (the switchyard daemon) in the test namespace and
// stops it with SIGTERM at cleanup.
func (e *dockerEnv) startProc(name string, argv ...string) {
	e.t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=" + nstest.Path(e.ns), "--"}, argv...)...)
	logf, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	e.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			e.t.Errorf("%s did not stop on SIGTERM", name)
		}
		logf.Close()
		if e.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			e.t.Logf("%s log (tail):\n%s", name, tail(string(b), 3000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitFor polls ok for up to 30 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func startDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	nstest.RequireNetAdmin(t)
	for _, tool := range []string{"nsenter", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s (util-linux, busybox-static): %v", tool, err)
		}
	}
	// A short directory: containerd's socket path must fit sun_path.
	dir, err := os.MkdirTemp("", "sydk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	suffix := make([]byte, 4)
	rand.Read(suffix)
	e := &dockerEnv{t: t, ns: nstest.NewNetns(t), dir: dir, plugin: "sytest-" + hex.EncodeToString(suffix)}
	// A fresh host: forwarding off, so dockerd turns it on and sets the
	// FORWARD policy to DROP; the kernel publish path gets through it by
	// its accept rules in DOCKER-USER (issue 9 §1).
	if out, err := nstest.Exec(e.ns, "sysctl", "-qw", "net.ipv4.ip_forward=0"); err != nil {
		t.Fatalf("ip_forward=0: %v %s", err, out)
	}
	sock := filepath.Join(dir, "sy.sock")
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, nil, 0o644)
	e.startProc("switchyard", binary, "up", "--socket", sock, "--state-dir", filepath.Join(dir, "state"), "--docker-plugin", "--docker-plugin-name", e.plugin)
	e.sy = api.NewClient(sock)
	pluginSock := "/run/docker/plugins/" + e.plugin + ".sock"
	waitFor(t, "the plugin socket", func() bool {
		c, err := net.Dial("unix", pluginSock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if fi, err := os.Stat(pluginSock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("plugin socket mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	e.dockerd = nstest.StartDockerd(t, e.ns, "--bridge=none", "--storage-driver=vfs")
	t.Cleanup(e.removeAll)
	e.image = e.buildImage()
	return e
}

// docker runs the docker CLI against the test's dockerd.
func (e *dockerEnv) docker(args ...string) (string, error) { return e.dockerd.Docker(args...) }

// mustDocker runs docker and fails the test on error.
func (e *dockerEnv) mustDocker(args ...string) string {
	e.t.Helper()
	out, err := e.docker(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// buildImage imports a busybox-static root file system as an image (no
// registry here).
func (e *dockerEnv) buildImage() string {
	e.t.Helper()
	root := filepath.Join(e.dir, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	bb, _ := exec.LookPath("busybox")
	data, err := os.ReadFile(bb)
	if err != nil {
		e.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755)
	for _, c := range []string{"sh", "ping", "httpd", "wget", "ip", "sleep", "cat"} {
		os.Symlink("busybox", filepath.Join(root, "bin", c))
	}
	tarball := filepath.Join(e.dir, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		e.t.Fatalf("tar: %v %s", err, out)
	}
	image := e.plugin + ":busybox"
	e.mustDocker("import", tarball, image)
	return image
}

// removeAll removes every container and network the test's dockerd has,
// so the plugin sees the deletions before both daemons stop.
func (e *dockerEnv) removeAll() {
	if ids, _ := e.docker("ps", "-aq"); ids != "" {
		e.docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	e.docker("network", "prune", "-f")
}
