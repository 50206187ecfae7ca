package daemon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestControlSocketUnderFDExhaustion: with every descriptor of the
// process taken (as a range publish or a connection flood would), the
// control API still answers, promptly, several times in a row.
func TestControlSocketUnderFDExhaustion(t *testing.T) {
	// Known broken: the daemon and the client share this process's
	// descriptor table, so the daemon's own goroutines take the descriptor
	// the test frees for the client (0 of 6 standalone runs passed on
	// 881e3f3). It needs the daemon in a subprocess; until then it is opt-in
	// and the feature is not claimed as verified.
	nstest.OptIn(t, "SWITCHYARD_FD_EXHAUSTION", "the in-process fd-exhaustion test (known racy)")
	nstest.RequireNetAdmin(t)
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(resolv, nil, 0o644)
	d, err := daemon.New(daemon.Config{ResolvConf: resolv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "fd.sock")
	ln, err := daemon.Listen(sock)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(len(fds) + 100)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	var hog []*os.File
	t.Cleanup(func() {
		for _, f := range hog {
			f.Close()
		}
	})
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hog = append(hog, f)
	}
	for i := range 3 {
		// The client stands for another process: it gets one descriptor.
		hog[len(hog)-1].Close()
		hog = hog[:len(hog)-1]
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		_, err := api.NewClient(sock).Networks(ctx) // a new connection each time
		cancel()
		if err != nil {
			t.Fatalf("call %d with descriptors exhausted: %v after %v", i, err, time.Since(start))
		}
	}
}
