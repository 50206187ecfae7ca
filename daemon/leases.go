package daemon

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/dhcp"
	"github.com/switchyard/switchyard/state"
)

// leases are the network's bound dynamic DHCP leases as the state stores
// them (endpoints' fixed addresses are in their records).
func (n *network) leases() []state.Lease {
	if n.svc == nil || n.svc.dhcp == nil {
		return nil
	}
	var out []state.Lease
	for _, l := range n.svc.dhcp.Leases() {
		if !l.Static {
			out = append(out, state.Lease{Network: n.name, MAC: l.MAC.String(), IP: l.IP.String(), Expires: l.Expires.UTC()})
		}
	}
	return out
}

// restoreLeases gives the networks' DHCP servers their predecessors'
// leases back; d.mu must be held.
func (d *Daemon) restoreLeases(ls []state.Lease) {
	byNet := map[string][]dhcp.Lease{}
	for _, l := range ls {
		mac, err := net.ParseMAC(l.MAC)
		ip, aerr := netip.ParseAddr(l.IP)
		if err != nil || aerr != nil {
			d.cfg.Log.Warn("bad lease in the state: skipped", "network", l.Network, "mac", l.MAC, "ip", l.IP)
			continue
		}
		byNet[l.Network] = append(byNet[l.Network], dhcp.Lease{MAC: mac, IP: ip, Expires: l.Expires})
	}
	for name, ls := range byNet {
		n, ok := d.networks[name]
		if !ok || n.svc == nil || n.svc.dhcp == nil {
			d.cfg.Log.Warn("DHCP leases not restored: the network serves no DHCP", "network", name)
			continue
		}
		if err := n.svc.dhcp.Restore(ls, time.Now()); err != nil {
			d.cfg.Log.Warn("DHCP leases not all restored", "network", name, "err", err)
		}
	}
}

// saveLeases saves the state when a network's DHCP leases changed since
// the last save: DHCP binds them on the data path, without the daemon.
func (d *Daemon) saveLeases() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.saved == nil || d.closed {
		return
	}
	var now []state.Lease
	for _, n := range d.networks {
		now = append(now, n.leases()...)
	}
	slices.SortFunc(now, compareLease)
	if !slices.Equal(now, d.savedLeases) {
		d.save()
	}
}

// compareLease orders leases by network and address.
func compareLease(a, b state.Lease) int {
	return cmp.Or(strings.Compare(a.Network, b.Network), strings.Compare(a.IP, b.IP))
}
