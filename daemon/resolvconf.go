package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/nsutil"
)

// Name resolution inside named namespaces: `ip netns exec NAME` bind-mounts
// every file of /etc/netns/NAME over /etc, so a resolv.conf there gives the
// namespace its own DNS (the gateways), as a Docker container has. The
// daemon writes it when a named namespace attaches (unless the request
// says NoResolvConf), rewrites it as the namespace joins and leaves
// networks, and removes it with the namespace's last endpoint. The file's
// first line marks it as the daemon's: a resolv.conf the daemon did not
// write is never changed or removed.

// DefaultNetnsEtc is where `ip netns exec` looks for a namespace's own /etc
// files.
const DefaultNetnsEtc = "/etc/netns"

// resolvMarker is the first line of every resolv.conf the daemon writes.
const resolvMarker = "# Written by switchyard for this network namespace; removed when its last endpoint detaches."

// errForeignResolvConf means a resolv.conf exists that the daemon did not
// write: it is left alone.
var errForeignResolvConf = errors.New("exists and was not written by switchyard: left alone")

// namedNetns returns the name of an `ip netns` namespace from its path.
func namedNetns(nsPath string) (string, bool) {
	dir, name := filepath.Split(nsPath)
	dir = filepath.Clean(dir)
	if name == "" || (dir != nsutil.NetnsDir && dir != "/run/netns") {
		return "", false
	}
	return name, true
}

// attachResolvConf gives a newly attached endpoint of a named namespace its
// share of /etc/netns/NAME/resolv.conf; d.mu must be held and ep must be
// in its network's endpoints already. A failure is logged, not fatal: the
// endpoint's ResolvConf stays empty.
func (d *Daemon) attachResolvConf(ep *endpoint, disabled bool) {
	name, ok := namedNetns(ep.nsPath)
	if disabled || !ok {
		return
	}
	ep.info.ResolvConf = filepath.Join(d.netnsEtc, name, "resolv.conf")
	if err := d.syncResolvConf(ep); err != nil {
		ep.info.ResolvConf = ""
		d.cfg.Log.Warn("resolv.conf not written", "endpoint", ep.info.Name, "err", err)
	}
}

// detachResolvConf rewrites or removes the file after ep left its network;
// d.mu must be held.
func (d *Daemon) detachResolvConf(ep *endpoint) {
	if ep.info.ResolvConf == "" {
		return
	}
	if err := d.syncResolvConf(ep); err != nil {
		d.cfg.Log.Warn("resolv.conf", "endpoint", ep.info.Name, "err", err)
	}
}

// syncResolvConf makes ep's resolv.conf list the gateway and domain of
// every network ep's namespace is attached to with a resolv.conf, or
// removes the file when none is left.
func (d *Daemon) syncResolvConf(ep *endpoint) error {
	path := ep.info.ResolvConf
	content := d.resolvConfFor(ep)
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if content == nil {
			return nil
		}
	case err != nil:
		return fmt.Errorf("resolv.conf: %w", err)
	case !bytes.HasPrefix(old, []byte(resolvMarker+"\n")):
		return fmt.Errorf("%s %w", path, errForeignResolvConf)
	case content == nil:
		return removeResolvConf(path)
	}
	return writeResolvConf(path, content)
}

// resolvConfFor builds the file for ep's namespace from its endpoints
// that use one, or nil. Networks that resolve endpoint names come first
// (a resolver asks the first server, and an NXDOMAIN from a gateway that
// only forwards would end the lookup), then the one with the default
// route; only they give search domains.
func (d *Daemon) resolvConfFor(ep *endpoint) []byte {
	type entry struct {
		names, first bool
		name, gw     string
	}
	var es []entry
	for _, n := range d.networks {
		for _, e := range n.endpoints {
			if e.ns == ep.ns && e.info.ResolvConf == ep.info.ResolvConf {
				es = append(es, entry{n.dnsNames, e.info.DefaultRoute, n.name, n.nameserver().String()})
			}
		}
	}
	if len(es) == 0 {
		return nil
	}
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.names != b.names {
			return a.names
		}
		if a.first != b.first {
			return a.first
		}
		return a.name < b.name
	})
	var b strings.Builder
	b.WriteString(resolvMarker + "\n")
	var search []string
	for _, e := range es {
		if e.names {
			search = append(search, e.name)
		}
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	for _, e := range es {
		fmt.Fprintf(&b, "nameserver %s\n", e.gw)
	}
	return []byte(b.String())
}

// nameserver is the network's DNS server for its endpoints: its gateway,
// or an uplink network's resolver (--dns-addr), or without one the LAN's
// router (its gateway).
func (n *network) nameserver() netip.Addr {
	if n.up != nil && n.up.dns.IsValid() {
		return n.up.dns
	}
	return n.pool.Gateway()
}

// writeResolvConf replaces path atomically, creating its directory.
func writeResolvConf(path string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	tmp := path + ".switchyard-tmp"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("resolv.conf: %w", err)
	}
	return nil
}

// removeResolvConf removes the daemon's file and its directory if that is
// left empty (a directory with anything else in it stays).
func removeResolvConf(path string) error {
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("resolv.conf: %w", err)
	}
	os.Remove(filepath.Dir(path)) // fails, harmlessly, unless empty
	return nil
}
