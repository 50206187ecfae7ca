package daemon

import (
	"fmt"
	"hash/fnv"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/tap"
)

// hostPort is a network's port in the host's own namespace: a TAP with an
// address in the subnet, through which DNATed traffic reaches endpoints.
type hostPort struct {
	ifname string
	addr   netip.Addr
	id     vswitch.PortID
}

// hostIfName names a network's host port: "sy" and a hash of the network
// name (interface names are at most 15 bytes).
func hostIfName(network string) string {
	h := fnv.New32a()
	h.Write([]byte(network))
	return fmt.Sprintf("sy%08x", h.Sum32())
}

// RulesTable is the name of the daemon's own nftables table (family ip):
// "switchyard-" and a hash of its socket path, so concurrent daemons never
// touch each other's rules.
func (d *Daemon) RulesTable() string { return portmap.TableName(d.cfg.Socket) }

// removeLeftoverRules removes what a crashed previous instance of this
// daemon left in the kernel (its table; the ip_forward value it changed),
// unless restored mappings re-created the table already.
func (d *Daemon) removeLeftoverRules() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg.DisableKernelPath || d.rules != nil { // restored mappings own it
		return
	}
	msg, err := portmap.RemoveLeftover(d.RulesTable())
	switch {
	case err != nil:
		d.cfg.Log.Warn("kernel path: leftover of a previous instance", "err", err)
	case msg != "":
		d.cfg.Log.Warn("kernel path: " + msg)
	}
}

// ensureRules opens the nftables table (which turns on IPv4 forwarding),
// once; d.mu must be held.
func (d *Daemon) ensureRules() error {
	if d.rules != nil {
		return nil
	}
	if d.cfg.DisableKernelPath {
		return fmt.Errorf("%w: kernel path disabled by the configuration (disable_kernel_path)", ErrInvalid)
	}
	r, err := portmap.OpenRules(d.RulesTable(), d.oldForward)
	if err != nil {
		return fmt.Errorf("kernel path: %w", err)
	}
	d.rules = r
	return nil
}

// releaseKernelPath deletes the table (restoring ip_forward) and the host
// ports once no mapping uses the kernel path; d.mu must be held.
func (d *Daemon) releaseKernelPath() {
	if d.rules == nil {
		return
	}
	for _, p := range d.published {
		if p.path != api.PathUserspace {
			return
		}
	}
	for _, n := range d.networks {
		d.removeHostPort(n)
	}
	if err := d.rules.Close(); err != nil {
		d.cfg.Log.Warn("nftables", "err", err)
	}
	d.rules = nil
	d.cfg.Log.Info("kernel path: last mapping removed: table deleted, ip_forward restored")
}

// ensureHostPort gives a network its host port; d.mu must be held.
func (d *Daemon) ensureHostPort(n *network) error {
	if n.host != nil {
		return nil
	}
	if err := d.ensureRules(); err != nil {
		return err
	}
	addr, err := n.pool.Allocate()
	if err != nil {
		return fmt.Errorf("%w: host port for network %q: %w", ErrConflict, n.name, err)
	}
	hp := &hostPort{ifname: hostIfName(n.name), addr: addr}
	dev, err := d.open(tap.Config{Name: hp.ifname, MTU: n.mtu, Addrs: []netip.Prefix{netip.PrefixFrom(addr, n.subnet.Bits())},
		Plain: d.cfg.PlainTAP, TxQueueLen: d.cfg.TxQueueLen})
	if err != nil {
		n.pool.Release(addr)
		return fmt.Errorf("host port for network %q: %w", n.name, err)
	}
	if hp.id, err = n.sw.AddPort(dev, vswitch.PortConfig{Name: "host", VLAN: n.vlan}); err != nil {
		dev.Close()
		n.pool.Release(addr)
		return fmt.Errorf("host port for network %q: %w", n.name, err)
	}
	if _, err := d.rules.AddHostPort(hp.ifname); err != nil {
		n.sw.RemovePort(hp.id)
		n.pool.Release(addr)
		return fmt.Errorf("host port for network %q: %w", n.name, err)
	}
	n.host = hp
	d.cfg.Log.Info("host port created", "network", n.name, "ifname", hp.ifname, "addr", addr)
	return nil
}

// removeHostPort undoes ensureHostPort; d.mu must be held.
func (d *Daemon) removeHostPort(n *network) {
	if n.host == nil {
		return
	}
	if d.rules != nil {
		if _, err := d.rules.DelHostPort(n.host.ifname); err != nil {
			d.cfg.Log.Warn("host port", "network", n.name, "err", err)
		}
	}
	n.sw.RemovePort(n.host.id)
	n.pool.Release(n.host.addr)
	n.host = nil
}

// RepairRules re-creates the kernel path's table with every live mapping
// when it is missing or damaged (`switchyard ports --repair`) and says, in
// one line, what it did.
func (d *Daemon) RepairRules() (string, error) {
	d.mu.Lock()
	r := d.rules
	d.mu.Unlock()
	if r == nil {
		return "no kernel-path mappings: nothing to repair", nil
	}
	msg, err := r.Repair()
	if err != nil {
		return "", fmt.Errorf("kernel path: %w", err)
	}
	if msg == "" {
		msg = "nftables table ip " + r.Table() + " is intact"
	} else {
		d.cfg.Log.Warn("kernel path repaired", "what", msg)
	}
	if f, err := r.CheckFirewall(); err == nil && f.Blocked() != "" {
		msg += "; " + kernelBlockedNote(f.Blocked())
	}
	return msg, nil
}

// closePublishing removes every published port, the rules table (which
// restores IPv4 forwarding) and the proxy; d.mu must be held.
func (d *Daemon) closePublishing() {
	d.dropPublished(func(*published) bool { return true })
	for _, n := range d.networks {
		d.removeHostPort(n)
	}
	if d.rules != nil {
		if err := d.rules.Close(); err != nil {
			d.cfg.Log.Warn("nftables", "err", err)
		}
		d.rules = nil
	}
	d.proxy.Close()
}
