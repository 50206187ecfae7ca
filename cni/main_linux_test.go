package cni_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// binDir holds the switchyard binary (the plugin, found through CNI_PATH
// by its type) and the reference client cnitool.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-cni")
	if err != nil {
		panic(err)
	}
	binDir = dir
	for _, b := range [][]string{
		{"-o", filepath.Join(dir, "switchyard"), "../cmd/switchyard"},
		{"-o", filepath.Join(dir, "cnitool"), "github.com/containernetworking/cni/cnitool"},
	} {
		if out, err := exec.Command("go", append([]string{"build"}, b...)...).CombinedOutput(); err != nil {
			os.Stderr.Write(out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// live is an in-process daemon serving its API on a temporary socket.
type live struct {
	d    *daemon.Daemon
	c    *api.Client
	sock string
	stop func()
}

func startDaemon(t *testing.T) *live {
	t.Helper()
	nstest.RequireNetAdmin(t)
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(rc, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{ResolvConf: rc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sy.sock")
	ln, err := daemon.Listen(sock)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, ln) }()
	stopped := false
	l := &live{d: d, c: api.NewClient(sock), sock: sock}
	l.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop")
		}
	}
	t.Cleanup(l.stop)
	return l
}

// cnitool runs the reference client with the configurations in confDir
// and returns its stdout; a failure fails the test unless wantFail.
func cnitool(t *testing.T, confDir, capArgs string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "cnitool"), args...)
	cmd.Env = append(os.Environ(), "NETCONFPATH="+confDir, "CNI_PATH="+binDir+":/usr/lib/cni", "CAP_ARGS="+capArgs)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// plugin execs the plugin binary as a runtime does and returns stdout and
// whether it exited 0.
func plugin(t *testing.T, command, conf, netns, container string) (string, bool) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "switchyard"))
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+container, "CNI_NETNS="+netns,
		"CNI_IFNAME=eth0", "CNI_PATH="+binDir)
	cmd.Stdin = strings.NewReader(conf)
	out, err := cmd.Output()
	return string(out), err == nil
}

// writeConf writes a configuration list named name into a new directory.
func writeConf(t *testing.T, name string, list map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	list["name"] = name
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".conflist"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
