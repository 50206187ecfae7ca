package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// capNetBindService is CAP_NET_BIND_SERVICE's bit in /proc/PID/status.
const capNetBindService = "0000000000000400"

// TestSlirp4netnsSandboxAndSeccomp runs the helper with --enable-sandbox
// and --enable-seccomp the ways RootlessKit, Podman and slirp4netns's own
// tests do, as root and as an unprivileged user, and checks the helper
// process itself (the PID its caller started): what capabilities it kept,
// what its root holds, that every thread is filtered, and that it still
// serves its TAP and API socket and cleans up after itself.
func TestSlirp4netnsSandboxAndSeccomp(t *testing.T) {
	for _, who := range identities(t) {
		for _, tc := range []struct {
			name             string
			flags            func(pid string) []string
			sandbox, seccomp bool
		}{
			{"sandbox", func(pid string) []string { return []string{"--enable-sandbox", pid} }, true, false},
			{"seccomp with userns path", func(pid string) []string {
				return []string{"--enable-seccomp", "--userns-path=/proc/" + pid + "/ns/user", pid}
			}, false, true},
			{"podman", func(pid string) []string {
				return []string{"--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp",
					"--userns-path=/proc/" + pid + "/ns/user", "--netns-type=path", "/proc/" + pid + "/ns/net"}
			}, true, true},
		} {
			t.Run(who.name+"/"+tc.name, func(t *testing.T) {
				pid := userNetns(t, who)
				args := append([]string{"slirp4netns", "-c", "-r", "3", "-e", "4", "-a", ""}, tc.flags(strconv.Itoa(pid))...)
				confined(t, who, pid, append(args, "tap0"), tc.sandbox, tc.seccomp)
			})
		}
	}
}

// confined starts the helper with args (its -a value filled in), checks it
// and stops it through its exit fd.
func confined(t *testing.T, who runAs, pid int, args []string, sandbox, seccomp bool) {
	sock := filepath.Join(sharedDir(t), "api.sock")
	args[7] = sock
	mountsBefore := mustReadFile(t, "/proc/self/mountinfo")
	readyR, readyW, _ := os.Pipe()
	exitR, exitW, _ := os.Pipe()
	c := who.cmd(append([]string{who.binary}, args...)...)
	c.ExtraFiles = []*os.File{readyW, exitR}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	exitR.Close()
	defer func() { c.Process.Kill(); c.Wait() }()
	b := make([]byte, 4)
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, _ := readyR.Read(b); string(b[:n]) != "1" {
		t.Fatalf("ready fd gave %q; stderr:\n%s", b[:n], stderr.String())
	}
	helper := strconv.Itoa(c.Process.Pid)
	status := mustReadFile(t, "/proc/"+helper+"/status")
	if sandbox {
		checkSandboxed(t, helper, status)
	} else if !strings.Contains(status, "NoNewPrivs:\t1") && seccomp {
		t.Errorf("no_new_privs not set with --enable-seccomp:\n%s", status)
	}
	if seccomp {
		checkFiltered(t, helper)
	} else if strings.Contains(status, "Seccomp:\t2") {
		t.Error("a filter without --enable-seccomp")
	}
	// The TAP is served: the namespace reaches its gateway.
	if addr, _ := who.inNs(pid, "ip", "-4", "-o", "addr", "show", "tap0"); !strings.Contains(addr, "10.0.2.100/24") {
		t.Fatalf("tap0 not configured: %s", addr)
	}
	if out, err := who.inNs(pid, "ping", "-c", "1", "-W", "2", "10.0.2.2"); err != nil {
		t.Fatalf("ping gateway: %v %s\n%s", err, out, stderr.String())
	}
	// The API is served, and a forward it adds carries a connection.
	go who.inNs(pid, "sh", "-c", "echo guest | timeout 5 busybox nc -l -p 8080")
	time.Sleep(300 * time.Millisecond)
	port := freePort(t)
	if r := apiCall(t, sock, `{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":`+port+`,"guest_port":8080}}`); r != `{"return":{"id":1}}` {
		t.Fatalf("add_hostfwd: %s\n%s", r, stderr.String())
	}
	if got := dialRead(t, "127.0.0.1:"+port); got != "guest\n" {
		t.Fatalf("port forward read %q\n%s", got, stderr.String())
	}
	exitW.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after the exit fd closed: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("did not exit when the exit fd closed\n%s", stderr.String())
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("API socket left behind")
	}
	if left := processesOf(t, who.binary); len(left) != 0 {
		t.Errorf("processes left: %q", left)
	}
	// The sandbox's mounts and unmounts stayed in its own namespace.
	if lost := lostMounts(mountsBefore, mustReadFile(t, "/proc/self/mountinfo")); len(lost) != 0 {
		t.Errorf("host mounts gone: %q", lost)
	}
}

// checkSandboxed checks the helper's capabilities and root directory.
func checkSandboxed(t *testing.T, helper, status string) {
	t.Helper()
	for _, set := range []string{"CapEff", "CapPrm", "CapBnd"} {
		if want := set + ":\t" + capNetBindService; !strings.Contains(status, want+"\n") {
			t.Errorf("%s: want only CAP_NET_BIND_SERVICE (%s):\n%s", set, want, status)
		}
	}
	for _, want := range []string{"CapAmb:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(status, want) {
			t.Errorf("want %q:\n%s", want, status)
		}
	}
	self, _ := os.Readlink("/proc/self/ns/mnt")
	if mnt, _ := os.Readlink("/proc/" + helper + "/ns/mnt"); mnt == "" || mnt == self {
		t.Errorf("helper mount namespace %q, ours %q", mnt, self)
	}
	root := "/proc/" + helper + "/root/"
	for _, d := range []string{"etc", "run"} {
		host, _ := os.ReadDir("/" + d)
		seen, err := os.ReadDir(root + d)
		if err != nil || len(seen) != len(host) {
			t.Errorf("/%s in the sandbox: %d entries (%v), the host's has %d", d, len(seen), err, len(host))
		}
	}
	for _, d := range []string{"home", "root", "var", "tmp", "proc", "usr/bin", "bin"} {
		if _, err := os.Lstat(root + d); err == nil {
			t.Errorf("/%s is visible in the sandbox", d)
		}
	}
	if err := os.WriteFile(root+"etc/.sytest", nil, 0o644); err == nil {
		os.Remove("/etc/.sytest")
		t.Error("/etc is writable in the sandbox")
	}
}

// checkFiltered checks that every thread of the helper has a filter.
func checkFiltered(t *testing.T, helper string) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/" + helper + "/task")
	if err != nil || len(tasks) < 2 {
		t.Fatalf("helper threads: %d, %v", len(tasks), err)
	}
	for _, task := range tasks {
		st := mustReadFile(t, "/proc/"+helper+"/task/"+task.Name()+"/status")
		if !strings.Contains(st, "Seccomp:\t2\n") || !strings.Contains(st, "NoNewPrivs:\t1\n") {
			t.Errorf("thread %s is not filtered:\n%s", task.Name(), st)
		}
	}
}

func mustReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lostMounts returns the mounts of before (mountinfo lines) that after
// lacks, leaving out those other tests come and go with (netns, docker,
// temporary directories).
func lostMounts(before, after string) []string {
	have := map[string]bool{}
	for _, l := range strings.Split(after, "\n") {
		have[l] = true
	}
	var lost []string
	for _, l := range strings.Split(before, "\n") {
		if l != "" && !have[l] && !strings.Contains(l, "netns") && !strings.Contains(l, "docker") && !strings.Contains(l, "/tmp/") {
			lost = append(lost, l)
		}
	}
	return lost
}
