package main

import (
	"net/netip"
	"strings"

	"github.com/switchyard/switchyard/api"
)

// splitFamilies puts network create's --subnet and --gateway values into
// the request by address family: one subnet of each family at most, and
// a gateway of a family with its subnet. Values that do not parse are
// left to the daemon's checks (the IPv4 fields).
func splitFamilies(req *api.NetworkCreate, subnets, gateways []string) error {
	for _, s := range subnets {
		// What does not parse goes to the daemon as the IPv4 subnet,
		// which refuses it (exit 1, as every bad request).
		p, err := netip.ParsePrefix(s)
		dst := &req.Subnet
		if err == nil && p.Addr().Is6() && !p.Addr().Is4In6() {
			dst = &req.Subnet6
		}
		if *dst != "" {
			return usagef("network create: two subnets of one family (%s and %s): give one IPv4 and one IPv6 --subnet", *dst, s)
		}
		*dst = s
	}
	for _, g := range gateways {
		a, err := netip.ParseAddr(strings.TrimSpace(g))
		dst, sub := &req.Gateway, req.Subnet
		if err == nil && a.Is6() && !a.Is4In6() {
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
