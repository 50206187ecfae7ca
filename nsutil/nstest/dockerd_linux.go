package nstest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dockerd is a real dockerd (Debian docker.io) running inside a test
// namespace with a data root, exec root, socket and pid file of its own,
// so it never meets the host's Docker.
type Dockerd struct {
	t testing.TB
	// Dir holds everything the daemon writes (and its log, dockerd.log).
	Dir string
}

// StartDockerd starts dockerd inside namespace ns with the extra
// arguments and waits until it answers. When t ends it stops dockerd
// with SIGTERM (SIGKILL after 20 s, failing t), logs the daemon's log
// tail if t failed and removes Dir. It skips t (through Skip) without
// dockerd, docker or nsenter. The rules dockerd adds to ns go with ns.
func StartDockerd(t testing.TB, ns string, extra ...string) *Dockerd {
	t.Helper()
	RequireNetAdmin(t)
	for _, tool := range []string{"dockerd", "docker", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			Skipf(t, "needs %s (Debian docker.io, util-linux): %v", tool, err)
		}
	}
	// A short directory: containerd's socket path must fit sun_path.
	dir, err := os.MkdirTemp("", "sydk-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Dockerd{t: t, Dir: dir}
	t.Cleanup(func() { os.RemoveAll(dir) })
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--net=" + Path(ns), "--", "dockerd", "--data-root", filepath.Join(dir, "root"),
		"--exec-root", filepath.Join(dir, "exec"), "-H", d.Host(), "--pidfile", filepath.Join(dir, "docker.pid")}, extra...)
	// nsenter keeps the mounts, so dockerd finds its cgroups.
	cmd := exec.Command("nsenter", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start dockerd: %v", err)
	}
	t.Cleanup(func() { d.stop(cmd, logf) })
	for i := 0; ; i++ {
		if _, err := d.Docker("version"); err == nil {
			return d
		}
		if i == 300 {
			t.Fatalf("dockerd did not answer in 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *Dockerd) stop(cmd *exec.Cmd, logf *os.File) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		d.t.Errorf("dockerd did not stop on SIGTERM")
	}
	logf.Close()
	if d.t.Failed() {
		b, _ := os.ReadFile(logf.Name())
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		d.t.Logf("dockerd log (tail):\n%s", b)
	}
}

// Host is the daemon's API address (DOCKER_HOST).
func (d *Dockerd) Host() string { return "unix://" + filepath.Join(d.Dir, "docker.sock") }

// Docker runs the docker CLI against the daemon (60 s at most) and returns
// its trimmed standard output; on failure the error carries stderr.
func (d *Dockerd) Docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(out.String() + errb.String()), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}
