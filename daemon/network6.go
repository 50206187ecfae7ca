package daemon

import (
	"fmt"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/ipam"
)

// v6Setup is a dual-stack network's IPv6 side as create plans it.
type v6Setup struct {
	subnet netip.Prefix
	pool   *ipam.Pool6
}

// planIPv6 validates a request's IPv6 fields and builds the IPv6 pool
// (nil for an IPv4-only network). With IPv6 and no Subnet6 it picks a
// unique local /64 and writes it into req, so the saved state and a
// restarted daemon keep the same subnet.
func planIPv6(req *api.NetworkCreate) (v6Setup, error) {
	if req.Subnet6 == "" && !req.IPv6 {
		if req.Gateway6 != "" {
			return v6Setup{}, fmt.Errorf("an IPv6 gateway %s needs an IPv6 subnet", req.Gateway6)
		}
		return v6Setup{}, nil
	}
	if req.Driver == api.DriverOverlay || req.Driver == api.DriverUplink {
		return v6Setup{}, fmt.Errorf("IPv6 is not supported on %s networks yet", req.Driver)
	}
	if req.Subnet6 == "" {
		p, err := ipam.RandomULA()
		if err != nil {
			return v6Setup{}, err
		}
		req.Subnet6 = p.String()
	}
	subnet, err := netip.ParsePrefix(req.Subnet6)
	if err != nil {
		return v6Setup{}, fmt.Errorf("bad IPv6 subnet %q: %w", req.Subnet6, err)
	}
	var gw netip.Addr
	if req.Gateway6 != "" {
		if gw, err = netip.ParseAddr(req.Gateway6); err != nil || !gw.Is6() {
			return v6Setup{}, fmt.Errorf("bad IPv6 gateway %q", req.Gateway6)
		}
	}
	pool, err := ipam.New6(subnet, gw)
	if err != nil {
		return v6Setup{}, err
	}
	req.IPv6 = true
	return v6Setup{subnet: subnet, pool: pool}, nil
}

// describe6 fills in a network's IPv6 fields.
func (n *network) describe6(out *api.Network) {
	if n.pool6 != nil {
		out.Subnet6, out.Gateway6 = n.subnet6.String(), n.pool6.Gateway().String()
	}
}

// gateway6 is the network's IPv6 gateway address (zero when IPv4 only).
func (n *network) gateway6() netip.Addr {
	if n.pool6 == nil {
		return netip.Addr{}
	}
	return n.pool6.Gateway()
}

// overlaps6 reports another network whose IPv6 subnet overlaps subnet.
func (d *Daemon) overlaps6(subnet netip.Prefix) *network {
	if !subnet.IsValid() {
		return nil
	}
	for _, o := range d.networks {
		if o.subnet6.IsValid() && o.subnet6.Overlaps(subnet) {
			return o
		}
	}
	return nil
}
