package daemon

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"strings"

	"github.com/switchyard/switchyard/portmap"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/tap"
)

// RulesTable is the nftables table switchyard keeps its rules in.
const RulesTable = "switchyard"

const ipForward = "/proc/sys/net/ipv4/ip_forward"

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

// ensureRules opens the nftables table and turns on IPv4 forwarding, once;
// d.mu must be held.
func (d *Daemon) ensureRules() error {
	if d.rules != nil {
		return nil
	}
	if d.cfg.DisableKernelPath {
		return fmt.Errorf("%w: kernel path disabled by the configuration (disable_kernel_path)", ErrInvalid)
	}
	r, err := portmap.OpenRules(RulesTable)
	if err != nil {
		return fmt.Errorf("kernel path: %w", err)
	}
	old, err := os.ReadFile(ipForward)
	if err == nil && strings.TrimSpace(string(old)) != "1" {
		if err := os.WriteFile(ipForward, []byte("1"), 0o644); err != nil {
			r.Close()
			return fmt.Errorf("kernel path: enable IPv4 forwarding: %w", err)
		}
		d.oldForward = strings.TrimSpace(string(old))
	}
	d.rules = r
	return nil
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
	if err := d.rules.AddMasquerade(hp.ifname); err != nil {
		n.sw.RemovePort(hp.id)
		n.pool.Release(addr)
		return err
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
	if err := d.rules.DelMasquerade(n.host.ifname); err != nil {
		d.cfg.Log.Warn("host port", "network", n.name, "err", err)
	}
	n.sw.RemovePort(n.host.id)
	n.pool.Release(n.host.addr)
	n.host = nil
}

// closePublishing removes every published port, the rules table and the
// proxy, and restores IPv4 forwarding; d.mu must be held.
func (d *Daemon) closePublishing() {
	for k, p := range d.published {
		d.uninstall(p)
		delete(d.published, k)
	}
	for _, n := range d.networks {
		d.removeHostPort(n)
	}
	if d.rules != nil {
		if err := d.rules.Close(); err != nil {
			d.cfg.Log.Warn("nftables", "err", err)
		}
		d.rules = nil
	}
	if d.oldForward != "" {
		os.WriteFile(ipForward, []byte(d.oldForward), 0o644)
		d.oldForward = ""
	}
	d.proxy.Close()
}
