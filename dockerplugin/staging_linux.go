package dockerplugin

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// createNetns makes a new, empty network namespace and binds it at path
// (as `ip netns add` does). The namespace is entered on a locked
// goroutine whose thread returns to its namespace afterwards (or dies).
func createNetns(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("staging namespace directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o400)
	if err != nil {
		return fmt.Errorf("staging namespace: %w", err)
	}
	f.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- fmt.Errorf("own namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("unshare: %w", err)
			return
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		err = unix.Mount(self, path, "", unix.MS_BIND, "")
		// Back to the original namespace before the thread serves other
		// goroutines; if that fails the thread stays locked and dies
		// with this goroutine.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		if err != nil {
			err = fmt.Errorf("bind %s: %w", path, err)
		}
		done <- err
	}()
	if err := <-done; err != nil {
		os.Remove(path)
		return fmt.Errorf("staging namespace: %w", err)
	}
	return nil
}

// removeNetns unbinds and removes a namespace createNetns made.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// moveLink moves interface name from the namespace at from into the
// namespace own (the daemon's, where dockerd looks for it); an interface
// already in own is left alone.
func moveLink(from string, own nsHandle, name string) error {
	src, err := netns.GetFromPath(from)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", from, err)
	}
	defer src.Close()
	h, err := netlink.NewHandleAt(src)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", from, err)
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		// A container restarted: dockerd moved the interface back to its
		// namespace when the sandbox went away.
		if oh, herr := netlink.NewHandleAt(own); herr == nil {
			defer oh.Close()
			if _, lerr := oh.LinkByName(name); lerr == nil {
				return nil
			}
		}
		return fmt.Errorf("interface %s in %s: %w", name, from, err)
	}
	if err := h.LinkSetNsFd(link, int(own)); err != nil {
		return fmt.Errorf("move %s out of %s: %w", name, from, err)
	}
	return nil
}

// nsHandle is an open network namespace.
type nsHandle = netns.NsHandle

// ownNetns returns a handle on the daemon's namespace: the calling
// thread's (threads that enter other namespaces return before serving
// other goroutines, or die). The caller closes it.
func ownNetns() (nsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := netns.Get()
	if err != nil {
		return h, fmt.Errorf("own network namespace: %w", err)
	}
	return h, nil
}
