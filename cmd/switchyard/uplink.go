package main

import (
	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/api"
)

// uplinkFlags are network create's uplink driver flags.
func uplinkFlags(fs *pflag.FlagSet, req *api.NetworkCreate) {
	fs.StringVar(&req.Parent, "parent", "", "uplink: host interface, IFACE or IFACE.VLAN (eth1.10 is VLAN 10 on eth1, tagged by switchyard)")
	fs.StringVar(&req.IPRange, "ip-range", "", "uplink: CIDR or FIRST-LAST inside the subnet that attach hands out (default: the subnet)")
	fs.StringArrayVar(&req.AuxAddresses, "aux-address", nil, "uplink: address of the subnet used by another LAN host, never handed out (repeatable)")
	fs.StringVar(&req.DNSAddr, "dns-addr", "", "uplink: free address of the subnet where the network's endpoints resolve each other's names (default: no resolver)")
}
