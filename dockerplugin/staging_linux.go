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
// goroutine whose thread is discarded afterwards.
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
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("unshare: %w", err)
			return
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(self, path, "", unix.MS_BIND, ""); err != nil {
			done <- fmt.Errorf("bind %s: %w", path, err)
			return
		}
		done <- nil
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

// moveLink moves interface name from the namespace at from into this
// process's namespace, where dockerd looks for it; an interface already
// here is left alone.
func moveLink(from, name string) error {
	src, err := netns.GetFromPath(from)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", from, err)
	}
	defer src.Close()
	dst, err := os.Open("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("own namespace: %w", err)
	}
	defer dst.Close()
	h, err := netlink.NewHandleAt(src)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", from, err)
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		// A container restarted: dockerd moved the interface back here
		// when its sandbox went away.
		if _, herr := netlink.LinkByName(name); herr == nil {
			return nil
		}
		return fmt.Errorf("interface %s in %s: %w", name, from, err)
	}
	if err := h.LinkSetNsFd(link, int(dst.Fd())); err != nil {
		return fmt.Errorf("move %s out of %s: %w", name, from, err)
	}
	return nil
}
