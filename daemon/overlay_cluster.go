package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cluster"
)

// openCluster joins the cluster store when one is configured and creates
// the cluster's overlay networks here. Events that arrive while Open runs
// are ignored: the sync after it covers them.
func (d *Daemon) openCluster() error {
	if d.cfg.ClusterStore == "" {
		return nil
	}
	st, err := cluster.Open(cluster.Config{Store: d.cfg.ClusterStore, Advertise: d.advertise(), Host: d.cfg.ClusterHost,
		TTL: time.Duration(d.cfg.ClusterTTL), Handler: clusterHandler{d}, Log: d.cfg.Log.With("cluster", d.cfg.ClusterStore)})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	d.mu.Lock()
	d.ov.store = st
	d.mu.Unlock()
	h := clusterHandler{d}
	for _, n := range st.Networks() {
		h.NetworkAdded(n)
		h.EndpointsChanged(n.Name)
	}
	return nil
}

// republishOverlay writes the records of endpoints restored from the state
// directory: joining revoked the previous incarnation's lease, and with it
// their records and addresses.
func (d *Daemon) republishOverlay() {
	clusterHandler{d}.Rejoined()
}

// closeCluster leaves the cluster before the daemon takes d.mu to shut
// down (the store's goroutines may wait for d.mu in a handler): the lease
// is revoked, so this host's records vanish everywhere at once.
func (d *Daemon) closeCluster() {
	d.mu.Lock()
	if d.ov == nil {
		d.mu.Unlock()
		return
	}
	st := d.ov.store
	d.ov.closing = true
	d.mu.Unlock()
	if st != nil {
		st.Close()
	}
	d.mu.Lock()
	for p, s := range d.ov.sockets {
		s.Close()
		delete(d.ov.sockets, p)
	}
	d.mu.Unlock()
}

// validateCluster checks the cluster settings on their own.
func (c *Config) validateCluster() error {
	if c.ClusterStore == "" {
		if c.ClusterAdvertise != "" || c.ClusterHost != "" || c.ClusterTTL != 0 {
			return errors.New("config: cluster_advertise, cluster_host and cluster_ttl need cluster_store")
		}
		return nil
	}
	if _, err := cluster.ParseStore(c.ClusterStore); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	a, err := netip.ParseAddr(c.ClusterAdvertise)
	if err != nil || !a.Unmap().Is4() || a.IsUnspecified() || a.IsMulticast() {
		return fmt.Errorf("config: cluster_advertise %q: the IPv4 underlay address of this host is required with a cluster store", c.ClusterAdvertise)
	}
	if ttl := time.Duration(c.ClusterTTL); ttl != 0 && (ttl < cluster.MinTTL || ttl > cluster.MaxTTL) {
		return fmt.Errorf("config: cluster_ttl %s out of range [%s, %s]", ttl, cluster.MinTTL, cluster.MaxTTL)
	}
	return nil
}

// clusterErr maps a cluster error onto the daemon's API errors.
func clusterErr(err error) error {
	for _, m := range []struct{ from, to error }{
		{cluster.ErrInvalid, ErrInvalid}, {cluster.ErrNotFound, ErrNotFound}, {cluster.ErrConflict, ErrConflict},
		{cluster.ErrInUse, ErrConflict}, {cluster.ErrUnavailable, ErrUnavailable},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return err
}

// store returns the cluster store, nil without one or while closing.
func (d *Daemon) store() *cluster.Store {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ov == nil || d.ov.closing {
		return nil
	}
	return d.ov.store
}

// createOverlay creates an overlay network: in the cluster store first
// (which allocates the VNI), then here; other hosts follow from the watch.
func (d *Daemon) createOverlay(req api.NetworkCreate) (api.Network, error) {
	st := d.store()
	if st == nil {
		return d.createNetwork(req, false)
	}
	subnet, _, err := parseNetwork(req)
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := d.planOverlay(req); err != nil {
		return api.Network{}, err
	}
	cn, err := st.CreateNetwork(cluster.Network{Name: req.Name, Subnet: subnet.String(), Gateway: req.Gateway,
		VNI: req.VNI, VXLANPort: req.VXLANPort, Peers: req.Peers, MTU: req.MTU})
	if err != nil {
		return api.Network{}, clusterErr(err)
	}
	req.VNI, req.VXLANPort = cn.VNI, cn.VXLANPort
	n, err := d.createNetwork(req, false)
	if err == nil {
		return n, nil
	}
	d.mu.Lock()
	local := d.networks[req.Name]
	same := local != nil && local.ov != nil && local.ov.vni == cn.VNI
	var out api.Network
	if same {
		out = local.describe()
	}
	d.mu.Unlock()
	if same {
		return out, nil // the watch created it here first
	}
	if rerr := st.RemoveNetwork(req.Name); rerr != nil {
		d.cfg.Log.Warn("cluster network not rolled back", "network", req.Name, "err", rerr)
	}
	return api.Network{}, err
}

// removeOverlay removes an overlay network from the cluster store (refused
// while any host has endpoints on it) and takes down its tunnel; d.mu must
// be held. It does nothing for a bridge network.
func (d *Daemon) removeOverlay(n *network) error {
	if n.ov == nil {
		return nil
	}
	if d.ov.store != nil && !n.ov.fromStore && !d.ov.closing {
		if err := d.ov.store.RemoveNetwork(n.name); err != nil && !errors.Is(err, cluster.ErrNotFound) {
			return clusterErr(err)
		}
	}
	d.stopOverlay(n)
	return nil
}

// overlayAddr allocates an overlay endpoint's address cluster-wide (the
// requested one when given); other networks keep the planned address.
// d.mu must be held.
func (d *Daemon) overlayAddr(n *network, p attachPlan) (netip.Addr, error) {
	if n.ov == nil || d.ov.store == nil {
		return p.ip, nil
	}
	a, err := d.ov.store.AllocateIP(n.name, n.subnet, n.pool.Gateway(), p.ip, p.name)
	if err != nil {
		return netip.Addr{}, clusterErr(fmt.Errorf("attach to network %q: %w", n.name, err))
	}
	return a, nil
}

// overlayAttached publishes a new endpoint's record; on failure the caller
// detaches it. d.mu must be held.
func (d *Daemon) overlayAttached(n *network, ep *endpoint) error {
	if n.ov == nil || d.ov.store == nil {
		return nil
	}
	ep.info.Host = d.ov.store.Name()
	err := d.ov.store.PutEndpoint(cluster.Endpoint{Network: n.name, Name: ep.info.Name, MAC: ep.mac.String(),
		IP: ep.addr.String(), Aliases: ep.info.Aliases})
	if err != nil {
		return clusterErr(fmt.Errorf("attach to network %q: %w", n.name, err))
	}
	if err := announce(ep.nsPath, ep.info.IfName, ep.mac, ep.addr); err != nil && !ep.info.DHCP {
		d.cfg.Log.Warn("endpoint not announced", "network", n.name, "endpoint", ep.info.Name, "err", err)
	}
	return nil
}

// overlayDetached withdraws an endpoint's record and address; failures
// are logged (the records go with the lease at the latest). d.mu must be
// held.
func (d *Daemon) overlayDetached(n *network, ep *endpoint) {
	d.overlayRelease(n, ep.info.Name, ep.addr)
}

// overlayRelease withdraws an endpoint's record and cluster address.
func (d *Daemon) overlayRelease(n *network, name string, addr netip.Addr) {
	if n.ov == nil || d.ov.store == nil || d.ov.closing {
		return
	}
	if err := d.ov.store.DeleteEndpoint(n.name, name); err != nil {
		d.cfg.Log.Warn("endpoint record not withdrawn", "network", n.name, "endpoint", name, "err", err)
	}
	if err := d.ov.store.ReleaseIP(n.name, addr); err != nil {
		d.cfg.Log.Warn("cluster address not released", "network", n.name, "ip", addr, "err", err)
	}
}

// Hosts lists the cluster's members.
func (d *Daemon) Hosts() ([]api.Host, error) {
	st := d.store()
	if st == nil {
		return nil, fmt.Errorf("%w: no cluster store (switchyard up --cluster-store etcd://HOST:PORT)", ErrNotFound)
	}
	hs, err := st.Hosts()
	if err != nil {
		return nil, clusterErr(err)
	}
	out := make([]api.Host, 0, len(hs))
	for _, h := range hs {
		out = append(out, api.Host{Name: h.Name, Advertise: h.Advertise, Lease: h.Lease, Started: h.Started,
			TTL: h.TTL, LastKeepAlive: h.LastKeepAlive, Self: h.Name == st.Name()})
	}
	return out, nil
}

// overlayRoutes adds the overlay's API routes.
func (d *Daemon) overlayRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/hosts", func(w http.ResponseWriter, r *http.Request) {
		hs, err := d.Hosts()
		answer(w, http.StatusOK, hs, err)
	})
}

// restoreOverlayAddr claims a restored overlay endpoint's address in the
// cluster store again (joining revoked the previous daemon's lease, and
// with it the address); it fails when another host took the address while
// this one was down. Other networks need nothing. d.mu must be held.
func (d *Daemon) restoreOverlayAddr(n *network, name string, a netip.Addr) error {
	if n.ov == nil || d.ov.store == nil {
		return nil
	}
	got, err := d.ov.store.AllocateIP(n.name, n.subnet, n.pool.Gateway(), a, name)
	if err != nil {
		return fmt.Errorf("address %s in the cluster store: %w", a, err)
	}
	if got != a {
		return fmt.Errorf("address %s in the cluster store: given %s", a, got)
	}
	return nil
}
