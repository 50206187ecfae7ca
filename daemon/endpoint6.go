package daemon

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/ipam"
	"github.com/switchyard/switchyard/state"
	"github.com/switchyard/switchyard/tap"
)

// parseIP6 checks an attach request's --ip6 against the network.
func parseIP6(n *network, req api.EndpointCreate, p *attachPlan) error {
	if req.IP6 == "" {
		return nil
	}
	if n.pool6 == nil {
		return fmt.Errorf("network %q has no IPv6 subnet (--ip6 %s)", n.name, req.IP6)
	}
	if req.DHCP {
		return fmt.Errorf("--ip6 and --dhcp exclude each other: a --dhcp endpoint configures its IPv6 address by SLAAC")
	}
	a, err := netip.ParseAddr(req.IP6)
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return fmt.Errorf("bad IPv6 address %q", req.IP6)
	}
	if !n.subnet6.Contains(a) {
		return fmt.Errorf("address %s is outside the IPv6 subnet %s of network %q", a, n.subnet6, n.name)
	}
	p.ip6 = a
	return nil
}

// reserve6 takes the endpoint's IPv6 address from the network's pool:
// the chosen one, the lowest free one, or for a --dhcp endpoint the
// address its MAC configures by SLAAC (none outside a /64). It returns
// the zero Addr on an IPv4-only network.
func (n *network) reserve6(p attachPlan) (netip.Addr, error) {
	if n.pool6 == nil {
		return netip.Addr{}, nil
	}
	a := p.ip6
	if p.dhcp {
		var ok bool
		if a, ok = ipam.SLAAC(n.subnet6, p.mac); !ok {
			return netip.Addr{}, nil
		}
	}
	if !a.IsValid() {
		a, err := n.pool6.Allocate()
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w: network %q: %w", ErrConflict, n.name, err)
		}
		return a, nil
	}
	if err := n.pool6.Reserve(a); err != nil {
		if errors.Is(err, ipam.ErrInUse) {
			return netip.Addr{}, fmt.Errorf("%w: network %q: %w", ErrConflict, n.name, err)
		}
		return netip.Addr{}, fmt.Errorf("%w: network %q: %w", ErrInvalid, n.name, err)
	}
	return a, nil
}

// release6 returns an endpoint's IPv6 address to the pool.
func (n *network) release6(a netip.Addr) {
	if n.pool6 != nil && a.IsValid() {
		n.pool6.Release(a)
	}
}

// prefix6 is a as the endpoint's IP6 field ("" when a is zero).
func (n *network) prefix6(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return netip.PrefixFrom(a, n.subnet6.Bits()).String()
}

// tap6 adds an endpoint's static IPv6 configuration to its TAP: the
// address, the default route via the gateway's IPv6 address when the
// endpoint carries the namespace's default route, and router
// advertisements ignored (so a second network's gateway cannot add a
// default route). A --dhcp endpoint gets none of it: it configures
// itself from the gateway's router advertisements.
func (n *network) tap6(tc *tap.Config, a netip.Addr, dhcp, defRoute bool) {
	if n.pool6 == nil || dhcp || !a.IsValid() {
		return
	}
	tc.Addrs = append(tc.Addrs, netip.PrefixFrom(a, n.subnet6.Bits()))
	tc.StaticIPv6 = true
	if defRoute {
		tc.Gateway6 = n.pool6.Gateway()
	}
}

// restore6 reserves a recorded endpoint's IPv6 address again (zero when
// it has none).
func (n *network) restore6(rec state.Endpoint) (netip.Addr, error) {
	if rec.IP6 == "" {
		return netip.Addr{}, nil
	}
	p, err := netip.ParsePrefix(rec.IP6)
	if err != nil || n.pool6 == nil || !n.subnet6.Contains(p.Addr()) {
		return netip.Addr{}, fmt.Errorf("bad record: IPv6 address %q on network %q", rec.IP6, n.name)
	}
	if err := n.pool6.Reserve(p.Addr()); err != nil {
		return netip.Addr{}, fmt.Errorf("address %s: %w", p.Addr(), err)
	}
	return p.Addr(), nil
}
