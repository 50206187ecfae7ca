package daemon

import (
	"fmt"
	"net/netip"
	"strings"
)

// hostPrefix is a prefix the host uses and what uses it.
type hostPrefix struct {
	prefix netip.Prefix
	what   string
}

// alwaysReserved are prefixes no network may take whatever the host's
// routes say: loopback, and the unusable 0/8, multicast and reserved
// ranges.
var alwaysReserved = []hostPrefix{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (127.0.0.0/8)"},
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8)"},
	{netip.MustParsePrefix("224.0.0.0/3"), "multicast and reserved space (224.0.0.0/3)"},
	{netip.MustParsePrefix("::/8"), "IPv6 loopback, unspecified and mapped space (::/8)"},
	{netip.MustParsePrefix("fe80::/10"), "IPv6 link-local space (fe80::/10)"},
	{netip.MustParsePrefix("ff00::/8"), "IPv6 multicast (ff00::/8)"},
}

// checkSubnetUse refuses a subnet in the always reserved space and, with
// host set, one that overlaps the host's routes or addresses (as Docker
// does): the host would get a second route to it and lose the first, or
// traffic published through the network would go astray.
func checkSubnetUse(subnet netip.Prefix, host bool) error {
	for _, r := range alwaysReserved {
		if r.prefix.Overlaps(subnet) {
			return fmt.Errorf("subnet %s overlaps %s", subnet, r.what)
		}
	}
	if !host {
		return nil
	}
	hp, err := hostPrefixes()
	if err != nil {
		return fmt.Errorf("subnet %s: cannot read the host's routes to check for overlaps (use --allow-overlap to skip the check): %w", subnet, err)
	}
	for _, h := range hp {
		if h.prefix.Overlaps(subnet) {
			return fmt.Errorf("subnet %s overlaps %s (use --allow-overlap if that is intended)", subnet, h.what)
		}
	}
	return nil
}

// isHostPortName reports whether an interface is one of switchyard's host
// ports ("sy" and 8 hex digits, see hostIfName).
func isHostPortName(name string) bool {
	rest, ok := strings.CutPrefix(name, "sy")
	if !ok || len(rest) != 8 {
		return false
	}
	for _, c := range rest {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
