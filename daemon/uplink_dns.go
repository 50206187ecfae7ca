package daemon

import (
	"fmt"
	"net/netip"

	"github.com/switchyard/switchyard/gateway"
	vswitch "github.com/switchyard/switchyard/switch"
)

// resolves reports whether a network serves its endpoints' names: an
// uplink network only with --dns-addr, others as dflt says.
func (up *uplinkNet) resolves(dflt bool) bool {
	if up == nil {
		return dflt
	}
	return up.dns.IsValid()
}

// startResolver gives an uplink network with --dns-addr its resolver: a
// netstack on the network's switch at that address serving DNS (the
// endpoints' names, the rest forwarded to the host's resolvers) to the
// network's endpoints only, never to the LAN behind the uplink. It has
// no NAT, no DHCP and is nobody's router. d.mu must be held.
func (d *Daemon) startResolver(n *network) error {
	if !n.up.dns.IsValid() {
		return nil
	}
	mac, err := d.gatewayMAC(n)
	if err != nil {
		return err
	}
	svc, err := d.newServices(n, mac)
	if err != nil {
		return err
	}
	g, err := gateway.New(gateway.Config{
		Name: "resolver", Subnet: n.subnet, DNSAddress: n.up.dns, MAC: mac, MTU: n.mtu,
		ResolverOnly: true, AcceptFrom: svc.isEndpoint, DNS: svc.dnsServer(),
		Log: d.cfg.Log.With("network", n.name),
	})
	if err != nil {
		svc.close()
		return fmt.Errorf("network %q: resolver: %w", n.name, err)
	}
	id, err := n.sw.AddPort(g.Port(), vswitch.PortConfig{Name: "resolver", VLAN: n.portVLAN(),
		Security: &vswitch.PortSecurity{MAC: mac, IPs: []netip.Addr{n.up.dns}}})
	if err != nil {
		g.Close()
		svc.close()
		return fmt.Errorf("network %q: resolver port: %w", n.name, portError(err))
	}
	// gwMAC stays empty: the resolver is not the network's gateway.
	n.gw, n.gwPort, n.svc = g, id, svc
	return nil
}
