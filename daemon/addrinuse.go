package daemon

import "net/netip"

// AddressInUse reports whether a is taken in network's address pool: by
// the gateway, an endpoint or a host port. An external allocator (the
// Docker IPAM plugin) asks before handing a out.
func (d *Daemon) AddressInUse(network string, a netip.Addr) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(network)
	if err != nil {
		return false, err
	}
	return n.pool.InUse(a), nil
}
