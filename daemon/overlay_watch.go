package daemon

import (
	"errors"
	"net/netip"
	"sort"
	"strconv"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cluster"
	"github.com/switchyard/switchyard/vxlan"
)

// clusterHandler applies what the cluster store reports to the daemon.
type clusterHandler struct{ d *Daemon }

var _ cluster.Handler = clusterHandler{}

// active returns the store while the daemon is up.
func (h clusterHandler) active() *cluster.Store {
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.ov == nil || d.ov.closing {
		return nil
	}
	return d.ov.store
}

// NetworkAdded creates a cluster network here.
func (h clusterHandler) NetworkAdded(cn cluster.Network) {
	d := h.d
	if h.active() == nil {
		return
	}
	d.mu.Lock()
	local := d.networks[cn.Name]
	d.mu.Unlock()
	if local != nil {
		if local.ov == nil || local.ov.vni != cn.VNI {
			d.cfg.Log.Warn("cluster network clashes with a local network of the same name; not created",
				"network", cn.Name, "vni", cn.VNI)
		}
		return
	}
	_, err := d.createNetwork(api.NetworkCreate{Name: cn.Name, Subnet: cn.Subnet, Gateway: cn.Gateway, MTU: cn.MTU,
		Driver: api.DriverOverlay, VNI: cn.VNI, VXLANPort: cn.VXLANPort, Peers: cn.Peers}, false)
	if err != nil && !errors.Is(err, ErrConflict) {
		d.cfg.Log.Warn("cluster network not created here", "network", cn.Name, "err", err)
		return
	}
	h.EndpointsChanged(cn.Name)
}

// NetworkRemoved removes a network the cluster removed, unless endpoints
// here still use it.
func (h clusterHandler) NetworkRemoved(name string) {
	d := h.d
	if h.active() == nil {
		return
	}
	d.mu.Lock()
	n := d.networks[name]
	if n == nil || n.ov == nil {
		d.mu.Unlock()
		return
	}
	if len(n.endpoints) > 0 {
		d.mu.Unlock()
		d.cfg.Log.Warn("cluster removed a network with endpoints here; kept until they detach", "network", name)
		return
	}
	n.ov.fromStore = true
	d.mu.Unlock()
	if err := d.RemoveNetwork(name); err != nil && !errors.Is(err, ErrNotFound) {
		d.cfg.Log.Warn("cluster network not removed here", "network", name, "err", err)
	}
}

// EndpointsChanged reprograms a network's tunnel, address pool and DNS
// from the other hosts' endpoint records.
func (h clusterHandler) EndpointsChanged(name string) {
	d := h.d
	st := h.active()
	if st == nil {
		return
	}
	var remote []cluster.Endpoint
	for _, e := range st.Endpoints(name) {
		if e.Host != st.Name() {
			remote = append(remote, e)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.networks[name]
	if n == nil || n.ov == nil || d.closed {
		return
	}
	for _, e := range n.ov.remote {
		if a, err := netip.ParseAddr(e.IP); err == nil {
			n.pool.Release(a)
		}
	}
	for _, e := range remote {
		if a, err := netip.ParseAddr(e.IP); err == nil {
			_ = n.pool.Reserve(a)
		}
	}
	n.ov.remote = remote
	d.programRemote(n)
	n.publish()
}

// Rejoined writes this host's records again after its lease was lost.
func (h clusterHandler) Rejoined() {
	d := h.d
	st := h.active()
	if st == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.networks {
		if n.ov == nil {
			continue
		}
		for _, ep := range n.endpoints {
			if _, err := st.AllocateIP(n.name, n.subnet, n.pool.Gateway(), ep.addr, ep.info.Name); err != nil {
				d.cfg.Log.Warn("address not claimed again after rejoining", "network", n.name, "endpoint", ep.info.Name, "err", err)
			}
			if err := d.overlayAttached(n, ep); err != nil {
				d.cfg.Log.Warn("endpoint not published again after rejoining", "network", n.name, "endpoint", ep.info.Name, "err", err)
			}
		}
	}
}

// remoteEndpoints lists the other hosts' endpoints of a network (all
// networks when empty); d.mu must be held.
func (d *Daemon) remoteEndpoints(network string) []api.Endpoint {
	var out []api.Endpoint
	for _, n := range d.networks {
		if n.ov == nil || network != "" && n.name != network {
			continue
		}
		for _, e := range n.ov.remote {
			out = append(out, api.Endpoint{Name: e.Name, Network: n.name, MAC: e.MAC, IP: e.IP + "/" + strconv.Itoa(n.subnet.Bits()),
				Aliases: e.Aliases, Host: e.Host})
		}
	}
	return out
}

// overlayFDB adds the tunnel's remote MACs to a forwarding table listing:
// entries behind the tunnel get their VTEP, and MACs the store programmed
// that have not sent anything yet are listed too.
func (d *Daemon) overlayFDB(network string, out []api.FDBEntry) []api.FDBEntry {
	var tun *vxlan.Tunnel
	d.mu.Lock()
	if n := d.networks[network]; n != nil && n.ov != nil {
		tun = n.ov.tunnel
	}
	d.mu.Unlock()
	if tun == nil {
		return out
	}
	seen := map[string]int{}
	for i, e := range out {
		seen[e.MAC] = i
	}
	for _, e := range tun.Entries() {
		mac := e.MAC.String()
		if i, ok := seen[mac]; ok {
			if out[i].Port == "vxlan" {
				out[i].VTEP, out[i].Static = e.VTEP.String(), e.Static
			}
			continue
		}
		out = append(out, api.FDBEntry{MAC: mac, Port: "vxlan", VTEP: e.VTEP.String(), Static: e.Static, Age: e.Age})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MAC < out[j].MAC })
	return out
}
