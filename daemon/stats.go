package daemon

import (
	"sort"

	"github.com/switchyard/switchyard/api"
	vswitch "github.com/switchyard/switchyard/switch"
)

// FDB lists a network's learned MAC addresses.
func (d *Daemon) FDB(network string) ([]api.FDBEntry, error) {
	d.mu.Lock()
	n, err := d.network(network)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []api.FDBEntry
	for _, e := range n.sw.FDB() {
		if e.VLAN != n.portVLAN() {
			continue
		}
		out = append(out, api.FDBEntry{MAC: e.MAC.String(), VLAN: e.VLAN, Port: e.Port, Age: e.Age, Pinned: e.Pinned})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MAC < out[j].MAC })
	return d.overlayFDB(network, out), nil
}

// Stats returns every network's counters. Networks sharing the VLAN switch
// report their own ports and FDB entries; floods and evictions are those of
// the shared switch.
func (d *Daemon) Stats() api.Stats {
	d.mu.Lock()
	type netPorts struct {
		n   *network
		svc *services
		ids map[vswitch.PortID]bool
	}
	var nets []netPorts
	for _, n := range d.networks {
		ids := map[vswitch.PortID]bool{}
		for _, ep := range n.endpoints {
			ids[ep.port] = true
		}
		nets = append(nets, netPorts{n, n.svc, ids})
	}
	d.mu.Unlock()

	out := api.Stats{Proxy: d.proxyStats()}
	for _, np := range nets {
		st := np.n.sw.Stats()
		ns := api.NetworkStats{Network: np.n.name, FDBEntries: st.FDBEntries, FDBMax: st.FDBMax,
			FDBEvicted: st.FDBEvicted, FDBLimited: st.FDBLimited, Floods: st.Floods, Ports: []api.PortStats{}}
		if np.n.vlan != 0 {
			fdb, _ := d.FDB(np.n.name)
			ns.FDBEntries = int64(len(fdb))
		}
		if np.n.gw != nil {
			if nt := np.n.gw.NAT(); nt != nil { // nil: an uplink network's resolver
				ns.NAT = natStats(nt.Stats())
			}
			gs := np.n.gw.Stats()
			ns.Gateway = api.GatewayStats{ToStack: gs.ToStack, FromStack: gs.FromStack, QueueDrops: gs.QueueDrops,
				BadChecksum: gs.BadChecksum, Malformed: gs.Malformed}
			np.ids[np.n.gwPort] = true
		}
		ns.DNS, ns.DHCP = np.svc.serviceStats()
		uplinkStats(np.n, &ns, np.ids)
		for _, p := range st.Ports {
			if np.ids[p.ID] {
				ns.Ports = append(ns.Ports, portStats(p))
			}
		}
		out.Networks = append(out.Networks, ns)
	}
	sort.Slice(out.Networks, func(i, j int) bool { return out.Networks[i].Network < out.Networks[j].Network })
	return out
}

// Conntrack lists NAT flows of one network (all networks when empty).
func (d *Daemon) Conntrack(network string) ([]api.Conntrack, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if network != "" {
		n, err := d.network(network)
		if err != nil {
			return nil, err
		}
		return []api.Conntrack{n.conntrack()}, nil
	}
	out := []api.Conntrack{}
	for _, n := range d.networks {
		out = append(out, n.conntrack())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Network < out[j].Network })
	return out, nil
}
