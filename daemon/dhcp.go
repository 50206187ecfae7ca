package daemon

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/ipam"
)

// DHCP modes of api.NetworkCreate.DHCP.
const (
	dhcpOn  = "on"
	dhcpOff = "off"
)

// dhcpSetup is a network's DHCP decision: off, or on with the dynamic
// range (zero when the subnet leaves none: only `attach --dhcp`
// endpoints are served).
type dhcpSetup struct {
	on  bool
	rng ipam.Range
}

// planDHCP reads a create request's DHCP fields. DHCP is on for
// user-defined networks unless turned off, and off for the built-in ones
// unless asked for (Docker has no DHCP at all).
func planDHCP(req api.NetworkCreate, subnet netip.Prefix, builtin bool) (dhcpSetup, error) {
	var ds dhcpSetup
	switch req.DHCP {
	case "":
		ds.on = !builtin || req.DHCPRange != ""
	case dhcpOn:
		ds.on = true
	case dhcpOff:
		if req.DHCPRange != "" {
			return ds, fmt.Errorf("a DHCP range was given with DHCP off")
		}
		return ds, nil
	default:
		return ds, fmt.Errorf("dhcp %q: want %q or %q", req.DHCP, dhcpOn, dhcpOff)
	}
	if !ds.on {
		return ds, nil
	}
	if req.DHCPRange == "" {
		ds.rng = ipam.DefaultRange(subnet)
		return ds, nil
	}
	r, err := ipam.ParseRange(req.DHCPRange, subnet)
	if err != nil {
		return ds, fmt.Errorf("dhcp range: %w", err)
	}
	ds.rng = r
	return ds, nil
}

// dynamicPool splits the network's addresses: the DHCP range leaves the
// attach pool and becomes the pool of dynamic leases, so no number of
// DHCP clients can take an address attach would hand out.
func dynamicPool(pool *ipam.Pool, ds dhcpSetup) (dhcpPool, error) {
	if !ds.rng.First.IsValid() {
		return emptyPool{}, nil
	}
	if err := pool.Exclude(ds.rng); err != nil {
		return nil, fmt.Errorf("dhcp range: %w", err)
	}
	return ipam.NewRange(pool.Prefix(), pool.Gateway(), ds.rng)
}

// dhcpPool is the dhcp.Pool dynamic leases come from.
type dhcpPool interface {
	Allocate() (netip.Addr, error)
	Reserve(netip.Addr) error
	Release(netip.Addr)
}

// emptyPool is the dynamic pool of a network whose DHCP range is empty.
type emptyPool struct{}

var errNoRange = errors.New("the network has no dynamic DHCP range")

func (emptyPool) Allocate() (netip.Addr, error) { return netip.Addr{}, errNoRange }
func (emptyPool) Reserve(netip.Addr) error      { return errNoRange }
func (emptyPool) Release(netip.Addr)            {}

// checkDHCPAttach refuses what attach cannot honour on n: --dhcp where
// DHCP is off, and --ip inside the dynamic range.
func checkDHCPAttach(n *network, p attachPlan) error {
	if p.dhcp && !n.dhcp.on {
		return fmt.Errorf("network %q has DHCP off: attach without --dhcp, or create a network with DHCP", n.name)
	}
	if p.ip.IsValid() && n.dhcp.rng.Contains(p.ip) {
		return fmt.Errorf("address %s is in the DHCP range %s of network %q", p.ip, n.dhcp.rng, n.name)
	}
	return nil
}

// describeDHCP fills a network description's DHCP fields.
func (n *network) describeDHCP(out *api.Network) {
	out.DHCP = n.dhcp.on
	if n.dhcp.rng.First.IsValid() {
		out.DHCPRange = n.dhcp.rng.String()
	}
}
