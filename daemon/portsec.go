package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	vswitch "github.com/switchyard/switchyard/switch"
)

// openPortMaxMACs caps the MACs learned behind an endpoint without port
// security, so a flood of random source MACs from it cannot fill the
// forwarding table and evict other ports' entries.
const openPortMaxMACs = 256

// endpointPort is an endpoint's switch port: it owns its MAC and
// addresses (IPv4, and IPv6 on a dual-stack network), and unless the
// endpoint opted out it is locked to them.
func endpointPort(n *network, p attachPlan, mac net.HardwareAddr, addr, addr6 netip.Addr) vswitch.PortConfig {
	pc := vswitch.PortConfig{Name: p.name, VLAN: n.portVLAN(),
		Security: &vswitch.PortSecurity{MAC: mac, IPs: addrs(addr, addr6), Locked: !p.noPortSecurity}}
	if p.noPortSecurity {
		pc.MaxMACs = openPortMaxMACs
	}
	return pc
}

// gatewayPort is the gateway's switch port: it owns the gateway's MAC and
// address, so no endpoint can ever claim them.
func gatewayPort(n *network, mac net.HardwareAddr) vswitch.PortConfig {
	return vswitch.PortConfig{Name: "gateway", VLAN: n.vlan,
		Security: &vswitch.PortSecurity{MAC: mac, IPs: addrs(n.pool.Gateway(), n.gateway6())}}
}

// addrs lists the valid ones of as.
func addrs(as ...netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// portError maps an address another port owns to a conflict.
func portError(err error) error {
	if errors.Is(err, vswitch.ErrOwned) {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// portStats converts a switch port's counters.
func portStats(p vswitch.PortStats) api.PortStats {
	s := p.Security
	return api.PortStats{Name: p.Name, RxFrames: p.RxFrames, RxBytes: p.RxBytes,
		RxDrops: p.RxDrops, TxFrames: p.TxFrames, TxBytes: p.TxBytes, TxDrops: p.TxDrops, Errors: p.Errors,
		PortSecurity: p.PortSecurity, Learned: p.Learned,
		Security: api.SecurityDrops{SrcMAC: s.SrcMAC, MACOwned: s.MACOwned, ARP: s.ARP, ND: s.ND, Tagged: s.Tagged}}
}
