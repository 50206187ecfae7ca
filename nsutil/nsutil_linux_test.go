package nsutil_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

func TestResolveUnprivileged(t *testing.T) {
	self := "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/net"
	for _, tc := range []struct {
		spec, want, errHas string
		notNetns           bool
	}{
		{spec: "", errHas: "empty"},
		{spec: "pid:abc", errHas: "bad process ID"},
		{spec: "pid:-3", errHas: "bad process ID"},
		{spec: "pid:" + strconv.Itoa(os.Getpid()), want: self},
		{spec: "/proc/self/ns/net", want: "/proc/self/ns/net"},
		{spec: "/proc/self/ns/mnt", notNetns: true},
		{spec: "/proc/self/ns", notNetns: true},
		{spec: "/etc/hostname", notNetns: true},
		{spec: "sytest-does-not-exist", errHas: "/var/run/netns/sytest-does-not-exist"},
		{spec: "/nonexistent/netns", errHas: "no such file"},
		{spec: "..", errHas: "invalid"},
	} {
		got, err := nsutil.Resolve(tc.spec)
		switch {
		case tc.want != "":
			if err != nil || got != tc.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tc.spec, got, err, tc.want)
			}
		case err == nil:
			t.Errorf("Resolve(%q) = %q, want error", tc.spec, got)
		case tc.notNetns && !errors.Is(err, nsutil.ErrNotNetns):
			t.Errorf("Resolve(%q) error %v, want ErrNotNetns", tc.spec, err)
		case !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), "netns "):
			t.Errorf("Resolve(%q) error %q, want it to mention %q", tc.spec, err, tc.errHas)
		}
	}
}

func TestResolveNamed(t *testing.T) {
	name := nstest.NewNetns(t)
	want := nstest.Path(name)
	for _, spec := range []string{name, want} {
		if got, err := nsutil.Resolve(spec); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", spec, got, err, want)
		}
	}
	t.Chdir(nsutil.NetnsDir)
	if got, err := nsutil.Resolve("./" + name); err != nil || got != want {
		t.Errorf("Resolve(relative path) = %q, %v; want %q", got, err, want)
	}
}

// sameFile reports whether two namespace files are the same namespace.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

// checkThreads fails t if any thread of the process left the namespace of
// the main thread.
func checkThreads(t *testing.T) {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tasks {
		// A thread may exit between Glob and Stat.
		if fi, err := os.Stat(p); err == nil && !os.SameFile(fi, main) {
			t.Errorf("thread %s is in another namespace", filepath.Dir(filepath.Dir(p)))
		}
	}
}

func TestDo(t *testing.T) {
	path := nstest.Path(nstest.NewNetns(t))
	inside := false
	err := nsutil.Do(path, func() error {
		inside = sameFile(t, "/proc/thread-self/ns/net", path)
		return nil
	})
	if err != nil || !inside {
		t.Fatalf("Do: err %v, ran inside the namespace: %v", err, inside)
	}
	if sameFile(t, "/proc/thread-self/ns/net", path) {
		t.Fatal("caller's thread moved into the namespace")
	}

	sentinel := errors.New("sentinel")
	if err := nsutil.Do(path, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do returned %v, want the function's error", err)
	}
	if err := nsutil.Do("/nonexistent/ns", func() error { return nil }); err == nil ||
		!errors.Is(err, os.ErrNotExist) {
		t.Errorf("Do on a missing namespace: %v", err)
	}
	if err := nsutil.Do("/etc/hostname", func() error { return nil }); err == nil {
		t.Error("Do on a regular file succeeded")
	}

	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the function's panic", p)
			}
		}()
		_ = nsutil.Do(path, func() error { panic("boom") })
	}()
	checkThreads(t)
}

func TestDoParallel(t *testing.T) {
	paths := []string{nstest.Path(nstest.NewNetns(t)), nstest.Path(nstest.NewNetns(t))}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			p := paths[i%2]
			errs <- nsutil.Do(p, func() error {
				fi, err := os.Stat("/proc/thread-self/ns/net")
				if err != nil {
					return err
				}
				want, err := os.Stat(p)
				if err != nil {
					return err
				}
				if !os.SameFile(fi, want) {
					return fmt.Errorf("goroutine %d not in %s", i, p)
				}
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	checkThreads(t)
}
