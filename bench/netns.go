package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsDir is where `ip netns add` puts named namespaces.
const netnsDir = "/var/run/netns"

// nsPrefix starts every namespace name the harness creates; the process id
// follows so stale namespaces of dead runs can be recognised.
const nsPrefix = "sybench-"

// nsName returns the name of a namespace owned by this process.
func nsName(tag string) string {
	return fmt.Sprintf("%s%d-%s", nsPrefix, os.Getpid(), tag)
}

// inNetns prefixes argv so that it runs inside the named namespace; ""
// means the caller's namespace (a client dialing a port forwarded on the
// host's loopback), where argv runs as it is.
func inNetns(ns string, argv ...string) []string {
	if ns == "" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", ns}, argv...)
}

// addNetns creates a named namespace and brings its loopback up.
func addNetns(ctx context.Context, name string) error {
	if _, err := runCmd(ctx, 10*time.Second, "ip", "netns", "add", name); err != nil {
		return fmt.Errorf("create netns %s: %w", name, err)
	}
	if _, err := runCmd(ctx, 10*time.Second, "ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		return fmt.Errorf("netns %s: loopback up: %w", name, err)
	}
	return nil
}

// delNetns deletes a named namespace; it ignores the caller's context so
// that it also runs during cancellation.
func delNetns(name string) error {
	if _, err := runCmd(context.Background(), 10*time.Second, "ip", "netns", "del", name); err != nil {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// cleanStaleNetns deletes namespaces left behind by harness processes that
// no longer exist (killed with SIGKILL, for example).
func cleanStaleNetns(log *slog.Logger) {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || processExists(pid) {
			continue
		}
		log.Info("removing stale namespace", "netns", e.Name())
		if err := delNetns(e.Name()); err != nil {
			log.Warn("stale namespace", "err", err)
		}
	}
}

// nsLinks is a netlink handle bound to a named namespace.
type nsLinks struct {
	ns     string
	fd     netns.NsHandle
	handle *netlink.Handle
}

// openNsLinks opens a netlink handle inside the named namespace.
func openNsLinks(name string) (*nsLinks, error) {
	fd, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("netlink handle in %s: %w", name, err)
	}
	return &nsLinks{ns: name, fd: fd, handle: h}, nil
}

// Close releases the handle and the namespace descriptor.
func (n *nsLinks) Close() {
	n.handle.Close()
	n.fd.Close()
}

// waitLink polls for a link by name for at most timeout.
func (n *nsLinks) waitLink(ctx context.Context, name string, timeout time.Duration) (netlink.Link, error) {
	deadline := time.Now().Add(timeout)
	for {
		l, err := n.handle.LinkByName(name)
		if err == nil {
			return l, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("link %s in %s did not appear within %s: %w", name, n.ns, timeout, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for link %s in %s: %w", name, n.ns, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// configure renames link (when newName differs), sets its MTU, adds addr
// (when valid) and brings it up.
func (n *nsLinks) configure(link netlink.Link, newName string, mtu int, addr netip.Prefix) error {
	h := n.handle
	name := link.Attrs().Name
	if newName != "" && newName != name {
		if err := h.LinkSetDown(link); err != nil {
			return fmt.Errorf("%s/%s down: %w", n.ns, name, err)
		}
		if err := h.LinkSetName(link, newName); err != nil {
			return fmt.Errorf("%s: rename %s to %s: %w", n.ns, name, newName, err)
		}
		name = newName
	}
	if err := h.LinkSetMTU(link, mtu); err != nil {
		return fmt.Errorf("%s/%s mtu %d: %w", n.ns, name, mtu, err)
	}
	if addr.IsValid() {
		a, err := netlink.ParseAddr(addr.String())
		if err != nil {
			return fmt.Errorf("parse %s: %w", addr, err)
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("%s/%s add %s: %w", n.ns, name, addr, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s/%s up: %w", n.ns, name, err)
	}
	return nil
}

// setSysctl writes a sysctl inside a namespace.
func setSysctl(ctx context.Context, ns, key, val string) error {
	argv := inNetns(ns, "sysctl", "-q", "-w", key+"="+val)
	if _, err := runCmd(ctx, 10*time.Second, argv...); err != nil {
		return fmt.Errorf("netns %s: %w", ns, err)
	}
	return nil
}
