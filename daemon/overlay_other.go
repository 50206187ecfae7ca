//go:build !linux

package daemon

import "net/netip"

// underlayMTU assumes an Ethernet underlay off Linux.
func underlayMTU(_, _ netip.Addr) int { return 1500 }
