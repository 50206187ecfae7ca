package daemon

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/nat"
)

// startGateway gives a network its gateway netstack on its switch.
func (d *Daemon) startGateway(n *network, req api.NetworkCreate) error {
	if n.up != nil {
		return d.startResolver(n) // the LAN's router is the gateway
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
		Subnet: n.subnet, Address: n.pool.Gateway(), MAC: mac, MTU: n.mtu,
		Subnet6: n.subnet6, Address6: n.gateway6(), ForwardPing6: true,
		NAT: nat.Config{
			AllowHostLoopback: req.AllowHostLoopback,
			Deny:              d.inNetworks,
			UDPIdle:           time.Duration(d.cfg.UDPIdle),
			MaxTCP:            d.cfg.MaxFlows, MaxUDP: d.cfg.MaxFlows,
			Log: d.cfg.Log.With("network", n.name),
		},
		DHCP: svc.dhcpHandler(),
		DNS:  svc.dnsServer(),
		Log:  d.cfg.Log.With("network", n.name),
	})
	if err != nil {
		svc.close()
		return fmt.Errorf("network %q: %w", n.name, err)
	}
	id, err := n.sw.AddPort(g.Port(), gatewayPort(n, mac))
	if err != nil {
		g.Close()
		svc.close()
		return fmt.Errorf("network %q: gateway port: %w", n.name, portError(err))
	}
	n.gw, n.gwPort, n.gwMAC, n.svc = g, id, mac, svc
	n.allowHostLoopback = req.AllowHostLoopback
	return nil
}

// stopGateway removes the gateway port and stops the netstack.
func (d *Daemon) stopGateway(n *network) {
	if n.gw == nil {
		return
	}
	if err := n.sw.RemovePort(n.gwPort); err != nil {
		d.cfg.Log.Warn("remove gateway port", "network", n.name, "err", err)
	}
	n.gw.Close()
	n.svc.close()
	n.gw = nil
}

// inNetworks reports whether a is inside any network's subnet: the NAT
// refuses such destinations, so networks stay isolated from each other
// through their gateways too. It reads a snapshot, never d.mu (NAT
// goroutines call it while Close may hold d.mu waiting for them).
func (d *Daemon) inNetworks(a netip.Addr) bool {
	for _, p := range *d.subnets.Load() {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// refreshSubnets republishes the subnet snapshot; d.mu must be held.
func (d *Daemon) refreshSubnets() {
	ps := make([]netip.Prefix, 0, len(d.networks))
	for _, n := range d.networks {
		ps = append(ps, n.subnet)
		if n.subnet6.IsValid() {
			ps = append(ps, n.subnet6)
		}
	}
	d.subnets.Store(&ps)
}

// conntrack lists one network's NAT flows and counters.
func (n *network) conntrack() api.Conntrack {
	ct := api.Conntrack{Network: n.name, Flows: []api.Flow{}}
	if n.gw == nil || n.gw.NAT() == nil {
		return ct
	}
	for _, f := range n.gw.NAT().Flows() {
		ct.Flows = append(ct.Flows, api.Flow{Proto: f.Proto, Endpoint: f.Endpoint, Dest: f.Dest, Target: f.Target,
			BytesOut: f.ToDest, BytesIn: f.FromDest, Age: f.Age})
	}
	ct.Stats = natStats(n.gw.NAT().Stats())
	return ct
}

func natStats(s nat.Stats) api.NATStats {
	return api.NATStats{TCPFlows: s.TCPFlows, UDPFlows: s.UDPFlows, RefusedFull: s.RefusedFull,
		RefusedPolicy: s.RefusedPolicy, DialFailed: s.DialFailed, ICMPUnsupported: s.ICMPUnsupported,
		ICMPForwarded: s.ICMPForwarded, ICMPDropped: s.ICMPDropped}
}

// randomMAC returns a random locally administered unicast address.
func randomMAC() (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if _, err := rand.Read(mac); err != nil {
		return nil, fmt.Errorf("random MAC: %w", err)
	}
	mac[0] = mac[0]&0xfe | 0x02
	return mac, nil
}

// publish tells the network's DNS and DHCP about its endpoints; d.mu must
// be held. Names follow attach and detach immediately.
func (n *network) publish() {
	if n.svc != nil {
		n.svc.update(n)
	}
}
