package nsutil

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// threadNetns is the network namespace of the calling thread. /proc/self
// would name the main thread's namespace instead.
const threadNetns = "/proc/thread-self/ns/net"

// checkNetns verifies that path is a network namespace file.
func checkNetns(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	typ, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return ErrNotNetns
		}
		return fmt.Errorf("NS_GET_NSTYPE: %w", err)
	}
	if typ != unix.CLONE_NEWNET {
		return ErrNotNetns
	}
	return nil
}

// result carries the outcome of fn back from the namespace thread.
type result struct {
	err      error
	panicked bool
	panicVal any
}

// Do runs fn on a fresh goroutine locked to an OS thread that has joined the
// network namespace at path (a resolved path, see Resolve), waits for it and
// returns fn's error. The calling goroutine and every other thread stay where
// they are.
//
// After fn returns the thread switches back to its original namespace and is
// released. If switching back fails the thread is never unlocked: the
// goroutine exits locked, so the runtime destroys the thread instead of
// reusing it in the wrong namespace; the error is joined to fn's. A panic in
// fn is re-raised on the caller's goroutine after the thread switched back.
func Do(path string, fn func() error) error {
	if fn == nil {
		return fmt.Errorf("netns %q: nil function", path)
	}
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns %q: open: %w", path, err)
	}
	defer unix.Close(target)

	done := make(chan result, 1)
	go runIn(target, path, fn, done)
	r := <-done
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// runIn is the body of Do's goroutine.
func runIn(target int, path string, fn func() error, done chan<- result) {
	var r result
	returned := false
	defer func() {
		if !returned && !r.panicked && r.err == nil {
			r.err = fmt.Errorf("netns %q: function exited via runtime.Goexit", path)
		}
		done <- r
	}()

	runtime.LockOSThread()
	orig, err := unix.Open(threadNetns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		r.err = fmt.Errorf("netns %q: open %s: %w", path, threadNetns, err)
		return
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		// A failed setns leaves the thread where it was.
		runtime.UnlockOSThread()
		r.err = fmt.Errorf("netns %q: setns: %w", path, err)
		return
	}
	defer func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			r.err = errors.Join(r.err, fmt.Errorf("netns %q: switching back: %w", path, err))
			return
		}
		runtime.UnlockOSThread()
	}()

	defer func() {
		if p := recover(); p != nil {
			r.panicked, r.panicVal = true, p
		}
	}()
	r.err = fn()
	returned = true
}
