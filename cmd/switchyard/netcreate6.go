package main

import (
	"net/netip"
	"strings"

	"github.com/switchyard/switchyard/api"
)

// splitFamilies puts network create's --subnet and --gateway values into
// the request by address family: one subnet of each family at most, and
// a gateway of a family with its subnet.
func splitFamilies(req *api.NetworkCreate, subnets, gateways []string) error {
	for _, s := range subnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return usagef("network create: bad subnet %q: %v", s, err)
		}
		dst := &req.Subnet
		if p.Addr().Is6() && !p.Addr().Is4In6() {
			dst = &req.Subnet6
		}
		if *dst != "" {
			return usagef("network create: two subnets of one family (%s and %s): give one IPv4 and one IPv6 --subnet", *dst, s)
		}
		*dst = s
	}
	for _, g := range gateways {
		a, err := netip.ParseAddr(strings.TrimSpace(g))
		if err != nil {
			return usagef("network create: bad gateway %q: %v", g, err)
		}
		dst, sub := &req.Gateway, req.Subnet
		if a.Is6() && !a.Is4In6() {
			dst, sub = &req.Gateway6, req.Subnet6
		}
		if *dst != "" {
			return usagef("network create: two gateways of one family (%s and %s)", *dst, g)
		}
		if sub == "" {
			return usagef("network create: gateway %s has no --subnet of its family", g)
		}
		*dst = g
	}
	if req.Subnet == "" && req.Subnet6 != "" {
		return usagef("network create: IPv6-only networks are not supported yet: add an IPv4 --subnet")
	}
	return nil
}
