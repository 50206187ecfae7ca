package daemon

import (
	"fmt"

	"github.com/switchyard/switchyard/api"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/uplink"
)

// startUplink adds the uplink port to an uplink network's switch, opening
// the parent interface's socket for its first network; d.mu must be held.
// The port is open (no port security: the LAN's MACs and addresses are
// not the daemon's to police); a VLAN network's port is a trunk of its
// VLAN, so the switch tags what leaves and untags what arrives.
func (d *Daemon) startUplink(n *network) error {
	up := n.up
	if up == nil {
		return nil
	}
	if d.uplinks == nil {
		d.uplinks = map[string]*uplink.Parent{}
	}
	p := d.uplinks[up.iface]
	if p == nil {
		var err error
		if p, err = uplink.Open(uplink.Config{Interface: up.iface, QueueLen: d.cfg.QueueLen, Log: d.cfg.Log}); err != nil {
			return fmt.Errorf("%w: network %q: %w", ErrInvalid, n.name, err)
		}
		d.uplinks[up.iface] = p
	}
	l, err := p.Link(uplink.LinkConfig{VLAN: up.vlan})
	if err != nil {
		d.releaseParent(up.iface)
		return fmt.Errorf("%w: network %q: %w", ErrConflict, n.name, err)
	}
	pc := vswitch.PortConfig{Name: l.Info().Name}
	if up.vlan != 0 {
		pc = vswitch.PortConfig{Name: l.Info().Name, VLAN: up.vlan, Trunk: true, Allowed: []uint16{up.vlan}}
	}
	id, err := n.sw.AddPort(l, pc)
	if err != nil {
		l.Close()
		d.releaseParent(up.iface)
		return fmt.Errorf("network %q: uplink port: %w", n.name, err)
	}
	up.link, up.port, up.parent = l, id, p
	return nil
}

// stopUplink removes the uplink port (closing its link) and the parent's
// socket when no network uses it any more; d.mu must be held. It runs
// once per network: from RemoveNetwork or from Close.
func (d *Daemon) stopUplink(n *network) {
	up := n.up
	if up == nil || up.link == nil {
		return
	}
	if err := n.sw.RemovePort(up.port); err != nil {
		d.cfg.Log.Warn("remove uplink port", "network", n.name, "err", err)
	}
	// link stays set (closed): Stats reads it without d.mu, and a removed
	// network is never stopped twice.
	d.releaseParent(up.iface)
}

// releaseParent closes a parent no link uses; d.mu must be held.
func (d *Daemon) releaseParent(iface string) {
	if p := d.uplinks[iface]; p != nil && p.Links() == 0 {
		if err := p.Close(); err != nil {
			d.cfg.Log.Warn("uplink close", "interface", iface, "err", err)
		}
		delete(d.uplinks, iface)
	}
}

// describeUplink fills an uplink network's driver fields.
func (n *network) describeUplink(out *api.Network) {
	if n.up == nil {
		return
	}
	out.Driver, out.Parent, out.VLAN = api.DriverUplink, n.req.Parent, n.up.vlan
	out.IPRange, out.AuxAddresses, out.DNSAddr = n.req.IPRange, n.req.AuxAddresses, n.req.DNSAddr
}

// uplinkStats adds the uplink port to a network's counters: its switch
// port among the ports and the parent's own drops.
func uplinkStats(n *network, ns *api.NetworkStats, ids map[vswitch.PortID]bool) {
	up := n.up
	if up == nil || up.link == nil {
		return
	}
	ids[up.port] = true
	ls := up.link.Stats()
	us := &api.UplinkStats{Parent: n.req.Parent, RxDrops: ls.RxDrops, TxErrors: ls.TxErrors, TxDrops: ls.TxDrops}
	ps := up.parent.Stats()
	us.RxOtherVLAN, us.RxHost, us.RxBad = ps.RxOtherVLAN, ps.RxHost, ps.RxBad
	ns.Uplink = us
}
