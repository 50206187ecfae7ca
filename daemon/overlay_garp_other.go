//go:build !linux

package daemon

import (
	"net"
	"net/netip"
)

// announce does nothing off Linux.
func announce(string, string, net.HardwareAddr, netip.Addr) error { return nil }
