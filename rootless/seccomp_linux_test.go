package rootless

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// seccompChildEnv makes TestSeccompFilter's re-executed test binary the
// filtered process.
const seccompChildEnv = "SWITCHYARD_TEST_SECCOMP_CHILD"

// TestSeccompFilter applies the filter in a copy of the test binary
// (it cannot be removed again) and checks, there, what it denies and that
// a Go program keeps working under it: new threads, sockets, files.
func TestSeccompFilter(t *testing.T) {
	if os.Getenv(seccompChildEnv) == "1" {
		seccompChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSeccompFilter$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("filtered process:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSeccompFilter") {
		t.Fatalf("filtered process: %v", err)
	}
}

// seccompChild runs inside the filtered process.
func seccompChild(t *testing.T) {
	if err := ApplySeccomp(); err != nil {
		t.Fatal(err)
	}
	denied := []struct {
		what string
		call func() error
		want error
	}{
		{"unshare", func() error { return unix.Unshare(unix.CLONE_NEWUSER) }, unix.EPERM},
		{"mount", func() error { return unix.Mount("tmpfs", "/mnt", "tmpfs", 0, "") }, unix.EPERM},
		{"setns", func() error { return unix.Setns(0, 0) }, unix.EPERM},
		{"exec", func() error { return syscall.Exec("/bin/true", []string{"true"}, nil) }, unix.EPERM},
		{"ptrace", func() error { return unix.PtraceAttach(os.Getppid()) }, unix.EPERM},
		{"capset", func() error {
			var data [2]unix.CapUserData
			return unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &data[0])
		}, unix.EPERM},
		// The kernel refuses CLONE_NEWUSER|CLONE_FS with EINVAL; the
		// filter must answer first.
		{"clone with namespace flags", func() error {
			_, _, e := unix.RawSyscall(unix.SYS_CLONE, unix.CLONE_NEWUSER|unix.CLONE_FS, 0, 0)
			return e
		}, unix.EPERM},
		{"clone3", func() error {
			_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
			return e
		}, unix.ENOSYS},
	}
	for _, d := range denied {
		if err := d.call(); !errors.Is(err, d.want) {
			t.Errorf("%s: %v, want %v", d.what, err, d.want)
		}
	}
	// Threads: locked goroutines force the runtime to make new ones.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if _, err := os.ReadFile("/proc/thread-self/status"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	if _, err := c.Read(b); err != nil || string(b) != "ok" {
		t.Errorf("TCP under the filter: %q %v", b, err)
	}
	c.Close()
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		st, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if !strings.Contains(string(st), "Seccomp:\t2\n") {
			t.Errorf("thread %s not filtered", task.Name())
		}
	}
}
