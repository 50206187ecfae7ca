//go:build linux

package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Source routing of multi-homed endpoints: an endpoint that does not carry
// its namespace's default route gets a routing table of its own (its
// subnet and its gateway as default route) and a rule sending everything
// from its address to that table. Replies to a connection that came in on
// the endpoint's interface then leave by that interface, whatever the
// namespace's default route says.
const (
	// srcTableBase plus the interface index numbers an endpoint's table;
	// interface indexes are unique in a namespace, so tables are too.
	srcTableBase = 0x5359_0000
	// srcRulePriority places the source rules before the main table
	// (32766).
	srcRulePriority = 32000
)

// addSourceRoute installs an endpoint's source routing in its namespace:
// table srcTableBase+ifindex holds the connected subnet route and a
// default route via gw, and `from addr lookup table` selects it. It
// replaces whatever an earlier run left there and returns the table.
func addSourceRoute(nsPath, ifname string, addr netip.Prefix, gw netip.Addr) (int, error) {
	table := 0
	err := inNetns(nsPath, func(h *netlink.Handle) error {
		link, err := h.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("source route: %w", err)
		}
		idx := link.Attrs().Index
		table = srcTableBase + idx
		subnet := addr.Masked()
		routes := []*netlink.Route{
			{LinkIndex: idx, Dst: ipNet(subnet), Src: addr.Addr().AsSlice(), Scope: netlink.SCOPE_LINK,
				Protocol: unix.RTPROT_KERNEL, Table: table},
			{LinkIndex: idx, Gw: gw.AsSlice(), Table: table},
		}
		for _, r := range routes {
			if err := h.RouteReplace(r); err != nil {
				return fmt.Errorf("source route table %d (%v): %w", table, r, err)
			}
		}
		rule := sourceRule(addr.Addr(), table)
		if err := h.RuleAdd(rule); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("rule from %s lookup %d: %w", addr.Addr(), table, err)
		}
		return nil
	})
	if err != nil {
		delSourceRoute(nsPath, addr.Addr(), table)
		return 0, err
	}
	return table, nil
}

// delSourceRoute removes an endpoint's source rule from addr and the routes
// of its table; table 0 removes every rule of ours from addr (a daemon
// cleaning up after a predecessor that died before recording the table).
// Missing pieces are not an error.
func delSourceRoute(nsPath string, addr netip.Addr, table int) error {
	return inNetns(nsPath, func(h *netlink.Handle) error {
		tables := []int{table}
		if table == 0 {
			var err error
			if tables, err = sourceTables(h, addr); err != nil {
				return err
			}
		}
		var errs []error
		for _, t := range tables {
			if err := h.RuleDel(sourceRule(addr, t)); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("rule from %s lookup %d: %w", addr, t, err))
			}
			routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: t}, netlink.RT_FILTER_TABLE)
			if err != nil {
				errs = append(errs, fmt.Errorf("routes of table %d: %w", t, err))
			}
			for _, r := range routes {
				if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
					errs = append(errs, fmt.Errorf("route %v: %w", r, err))
				}
			}
		}
		return errors.Join(errs...)
	})
}

// sourceTables lists the tables our rules from addr select.
func sourceTables(h *netlink.Handle, addr netip.Addr) ([]int, error) {
	rules, err := h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var tables []int
	for _, r := range rules {
		if r.Priority == srcRulePriority && r.Src != nil && r.Src.String() == netip.PrefixFrom(addr, 32).String() &&
			r.Table >= srcTableBase {
			tables = append(tables, r.Table)
		}
	}
	return tables, nil
}

// sourceRule is `from addr lookup table` at srcRulePriority.
func sourceRule(addr netip.Addr, table int) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = unix.AF_INET
	r.Src = ipNet(netip.PrefixFrom(addr, addr.BitLen()))
	r.Table = table
	r.Priority = srcRulePriority
	return r
}

// ipNet converts a prefix to the net.IPNet netlink wants.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
