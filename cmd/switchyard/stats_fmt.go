package main

import (
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/api"
)

// yesNo renders a flag in a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// spoofDrops renders a port's port-security drops: the total and the
// non-zero reasons.
func spoofDrops(s api.SecurityDrops) string {
	if s.Total() == 0 {
		return "0"
	}
	var parts []string
	for _, r := range []struct {
		name string
		n    uint64
	}{{"src_mac", s.SrcMAC}, {"mac_owned", s.MACOwned}, {"arp", s.ARP}, {"nd", s.ND}, {"tagged", s.Tagged}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r.name, r.n))
		}
	}
	return fmt.Sprintf("%d (%s)", s.Total(), strings.Join(parts, ", "))
}

// dhcpColumn renders a network's DHCP setting: off, or its dynamic range.
func dhcpColumn(n api.Network) string {
	switch {
	case !n.DHCP:
		return "off"
	case n.DHCPRange == "":
		return "attach --dhcp only"
	}
	return n.DHCPRange
}
