package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
	"github.com/switchyard/switchyard/state"
	"github.com/switchyard/switchyard/tap"
)

// errNamespaceGone says an endpoint's namespace no longer exists, or its
// path now names another namespace.
var errNamespaceGone = errors.New("namespace gone")

// restore takes over what a previous daemon left in st and reconciles it
// with what changed while no daemon ran: interfaces left half-created or
// half-removed go, user networks come back, endpoints whose namespace is
// still there are re-opened (their persistent TAPs, addresses and routes
// kept), the others are dropped, and published ports are installed again
// on both paths (the kernel path's table is re-created from scratch, so
// rules a crashed daemon left are replaced). The result is saved.
func (d *Daemon) restore(st state.State) {
	if d.saved == nil {
		return
	}
	d.mu.Lock()
	for _, rec := range st.Pending {
		d.cfg.Log.Info("removing an interface a previous daemon left half-done", "netns", rec.Netns, "ifname", rec.IfName)
		d.dropEndpoint(rec)
	}
	d.mu.Unlock()
	for _, req := range st.Networks {
		d.restoreNetwork(req)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.oldForward = st.OldForward
	var dropped []state.Endpoint
	for _, rec := range st.Endpoints {
		if err := d.restoreEndpoint(rec); err != nil {
			d.cfg.Log.Warn("endpoint not restored: removed", "network", rec.Network, "endpoint", rec.Name,
				"netns", rec.Netns, "err", err)
			d.dropEndpoint(rec)
			dropped = append(dropped, rec)
			continue
		}
		d.cfg.Log.Info("endpoint restored", "network", rec.Network, "endpoint", rec.Name, "netns", rec.Netns,
			"ifname", rec.IfName, "ip", rec.IP)
	}
	for _, rec := range dropped {
		// Rewritten for the namespace's other endpoints, or removed.
		d.detachResolvConf(&endpoint{info: rec.Endpoint, ns: nsKey{dev: rec.NetnsDev, ino: rec.NetnsIno}})
	}
	for _, n := range d.networks {
		n.publish()
	}
	d.restoreLeases(st.Leases)
	for _, rec := range st.Published {
		if err := d.restorePublished(rec); err != nil {
			d.cfg.Log.Warn("published port not restored", "network", rec.Network, "spec", rec.Spec, "err", err)
			continue
		}
		d.cfg.Log.Info("published port restored", "network", rec.Network, "spec", rec.Spec, "path", rec.Path)
	}
	d.save()
}

// restoreNetwork creates a recorded network again. An overlay network of
// the cluster store was created by joining it already; one the cluster
// removed while no daemon ran here is not created as a local network.
func (d *Daemon) restoreNetwork(req api.NetworkCreate) {
	if req.Driver == api.DriverOverlay && d.store() != nil {
		d.mu.Lock()
		n := d.networks[req.Name]
		d.mu.Unlock()
		if n == nil || n.ov == nil {
			d.cfg.Log.Warn("network not restored: the cluster store no longer has it; its endpoints are removed", "network", req.Name)
			return
		}
		d.cfg.Log.Info("network restored from the cluster store", "network", req.Name, "vni", n.ov.vni)
		return
	}
	if _, err := d.createNetwork(req, false); err != nil {
		d.cfg.Log.Warn("network not restored: its endpoints are removed", "network", req.Name, "err", err)
	}
}

// restoreEndpoint re-opens an endpoint's persistent TAP and puts it back
// on its network's switch; d.mu must be held.
func (d *Daemon) restoreEndpoint(rec state.Endpoint) error {
	n, ok := d.networks[rec.Network]
	if !ok {
		return fmt.Errorf("network %q is gone", rec.Network)
	}
	key := nsKey{dev: rec.NetnsDev, ino: rec.NetnsIno}
	if k, err := nsIdentity(rec.Netns); err != nil || k != key {
		return errNamespaceGone
	}
	if _, dup := n.endpoints[rec.Name]; dup {
		return fmt.Errorf("endpoint %q recorded twice", rec.Name)
	}
	pfx, ok := prefixOf(rec.IP)
	mac, err := net.ParseMAC(rec.MAC)
	if !ok || err != nil || !n.subnet.Contains(pfx.Addr()) {
		return fmt.Errorf("bad record: address %q, MAC %q", rec.IP, rec.MAC)
	}
	if err := d.restoreOverlayAddr(n, rec.Name, pfx.Addr()); err != nil {
		return err
	}
	addr6, err := n.restore6(rec)
	if err != nil {
		d.overlayRelease(n, rec.Name, pfx.Addr())
		return err
	}
	if err := n.pool.Reserve(pfx.Addr()); err != nil {
		d.overlayRelease(n, rec.Name, pfx.Addr())
		n.release6(addr6)
		return fmt.Errorf("address %s: %w", pfx.Addr(), err)
	}
	release := func() {
		n.pool.Release(pfx.Addr())
		n.release6(addr6)
		d.overlayRelease(n, rec.Name, pfx.Addr())
	}
	tc := tap.Config{Netns: rec.Netns, Name: rec.IfName, Existing: true, Persist: true, MTU: rec.MTU, MAC: mac,
		Plain: d.cfg.PlainTAP, TxQueueLen: d.cfg.TxQueueLen}
	if !rec.DHCP {
		tc.Addrs = []netip.Prefix{pfx}
	}
	if rec.DefaultRoute {
		tc.Gateway = n.pool.Gateway()
	}
	n.tap6(&tc, addr6, rec.DHCP, rec.DefaultRoute)
	dev, err := d.open(tc)
	if err != nil {
		release()
		return err
	}
	plan := attachPlan{name: rec.Name, noPortSecurity: !rec.PortSecurity}
	id, err := n.sw.AddPort(dev, endpointPort(n, plan, dev.MAC(), pfx.Addr(), addr6))
	if err != nil {
		dev.Close()
		release()
		return err
	}
	ep := &endpoint{info: rec.Endpoint, nsPath: rec.Netns, ns: key, addr: pfx.Addr(), addr6: addr6, mac: dev.MAC(), port: id, dev: dev}
	ep.info.Offload = dev.Info().Offload
	if rec.SourceTable != 0 {
		if ep.info.SourceTable, err = d.routes.addSource(rec.Netns, rec.IfName, pfx, n.pool.Gateway()); err != nil {
			n.sw.RemovePort(id)
			release()
			return err
		}
	}
	n.endpoints[rec.Name] = ep
	return nil
}

// dropEndpoint removes what is left of an endpoint that is not restored:
// its TAP and source rule, only if its namespace is still the one it was
// attached to; d.mu must be held.
func (d *Daemon) dropEndpoint(rec state.Endpoint) {
	key := nsKey{dev: rec.NetnsDev, ino: rec.NetnsIno}
	if k, err := nsIdentity(rec.Netns); err != nil || k != key {
		return // the namespace took its interfaces with it
	}
	if pfx, ok := prefixOf(rec.IP); ok {
		if err := d.routes.delSource(rec.Netns, pfx.Addr(), rec.SourceTable); err != nil {
			d.cfg.Log.Warn("source route", "netns", rec.Netns, "err", err)
		}
	}
	if _, err := d.routes.removeTAP(rec.Netns, rec.IfName); err != nil {
		d.cfg.Log.Warn("leftover TAP", "netns", rec.Netns, "ifname", rec.IfName, "err", err)
	}
}

// restorePublished installs a recorded mapping again; d.mu must be held.
func (d *Daemon) restorePublished(rec state.Published) error {
	n, err := d.network(rec.Network)
	if err != nil {
		return err
	}
	spec, err := portmap.ParseSpec(rec.Spec)
	if err != nil {
		return err
	}
	backend, err := n.resolve(spec.Endpoint)
	if err != nil {
		return err
	}
	if rec.Path != api.PathBoth && rec.Path != api.PathKernel && rec.Path != api.PathUserspace {
		return fmt.Errorf("bad path %q", rec.Path)
	}
	p := &published{network: rec.Network, spec: spec, path: rec.Path, backend: backend, backend6: n.backend6(backend)}
	if _, dup := d.published[p.key()]; dup {
		return fmt.Errorf("recorded twice")
	}
	if err := d.installLocked(n, p); err != nil {
		return err
	}
	d.published[p.key()] = p
	return nil
}
