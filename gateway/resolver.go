package gateway

import (
	"errors"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// resolverOnly checks and completes a ResolverOnly configuration: the
// stack's one address is DNSAddress.
func (c *Config) resolverOnly() error {
	switch {
	case c.DNS == nil:
		return errors.New("gateway: a resolver-only stack needs a DNS server")
	case c.DHCP != nil || c.Subnet6.IsValid():
		return errors.New("gateway: a resolver-only stack serves neither DHCP nor IPv6")
	}
	c.Address = c.DNSAddress
	return nil
}

// interceptResolver is a resolver-only stack's intercept: frames from
// sources AcceptFrom refuses, ARP requests for other addresses and every
// IPv4 packet not addressed to DNSAddress are dropped; the rest (ARP,
// DNS, ping) goes to the stack. It returns true when the frame was
// consumed.
func (g *Gateway) interceptResolver(frame []byte) bool {
	eth := header.Ethernet(frame)
	if g.cfg.AcceptFrom != nil && !g.cfg.AcceptFrom([6]byte(frame[6:12])) {
		return true
	}
	switch eth.Type() {
	case header.ARPProtocolNumber:
		a := header.ARP(frame[header.EthernetMinimumSize:])
		if !a.IsValid() {
			return true
		}
		target := netip.AddrFrom4([4]byte(a.ProtocolAddressTarget()))
		return a.Op() == header.ARPRequest && target != g.cfg.DNSAddress
	case header.IPv4ProtocolNumber:
		ip := header.IPv4(frame[header.EthernetMinimumSize:])
		return !ip.IsValid(len(ip)) || netip.AddrFrom4(ip.DestinationAddress().As4()) != g.cfg.DNSAddress
	}
	return true
}
