package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/ipam"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/uplink"
)

// uplinkNet is an uplink network's attachment to a host interface: its
// switch has one more port, the Link of its VLAN on the interface's
// shared AF_PACKET socket. There is no gateway netstack: the LAN's router
// is the gateway, and nothing answers for it but the router.
type uplinkNet struct {
	iface string
	vlan  uint16 // 0: the interface's untagged frames
	rng   ipam.Range
	aux   []netip.Addr
	dns   netip.Addr // the resolver's address; invalid: none
	// link, port and parent are set while the port is on the switch.
	link   *uplink.Link
	port   vswitch.PortID
	parent *uplink.Parent
}

// normalizeUplink folds `--vlan ID` into Docker's parent spelling
// (eth1 --vlan 10 is eth1.10), so the request's VLAN keeps its bridge
// meaning (a VLAN of the shared switch) and the state records one form.
func normalizeUplink(req api.NetworkCreate) (api.NetworkCreate, error) {
	if req.Driver != api.DriverUplink {
		if req.Parent != "" || req.IPRange != "" || len(req.AuxAddresses) > 0 || req.DNSAddr != "" {
			return req, fmt.Errorf("%w: --parent, --ip-range, --aux-address and --dns-addr need --driver uplink", ErrInvalid)
		}
		return req, nil
	}
	iface, vlan, err := uplink.ParseParent(req.Parent)
	if err != nil {
		return req, fmt.Errorf("%w: --parent is required (IFACE or IFACE.VLAN): %w", ErrInvalid, err)
	}
	switch {
	case req.VLAN != 0 && vlan != 0 && req.VLAN != vlan:
		return req, fmt.Errorf("%w: --vlan %d contradicts --parent %s", ErrInvalid, req.VLAN, req.Parent)
	case req.VLAN > uplink.MaxVLAN:
		return req, fmt.Errorf("%w: --vlan %d out of range 1-%d", ErrInvalid, req.VLAN, uplink.MaxVLAN)
	case req.VLAN != 0:
		vlan = req.VLAN
	}
	req.Parent, req.VLAN = iface, 0
	if vlan != 0 {
		req.Parent += "." + strconv.Itoa(int(vlan))
	}
	return req, nil
}

// planUplink checks an uplink network's request (normalized); it returns
// nil for other drivers.
func planUplink(req api.NetworkCreate, subnet netip.Prefix, gw netip.Addr) (*uplinkNet, error) {
	if req.Driver != api.DriverUplink {
		return nil, nil
	}
	iface, vlan, err := uplink.ParseParent(req.Parent)
	if err != nil {
		return nil, err
	}
	switch {
	case req.VLAN != 0:
		return nil, errors.New("an uplink network's VLAN goes in --parent IFACE.VLAN or --vlan")
	case !gw.IsValid() || !subnet.Contains(gw):
		return nil, fmt.Errorf("--gateway (the LAN's router) inside %s is required", subnet)
	case req.DHCP == dhcpOn || req.DHCPRange != "":
		return nil, errors.New("an uplink network serves no DHCP: the LAN has its own (use --ip-range to stay out of its pool)")
	case req.AllowHostLoopback:
		return nil, errors.New("an uplink network has no gateway of its own: --allow-host-loopback does not apply")
	}
	up := &uplinkNet{iface: iface, vlan: vlan}
	if req.IPRange != "" {
		if up.rng, err = ipam.ParseRange(req.IPRange, subnet); err != nil {
			return nil, fmt.Errorf("ip range: %w", err)
		}
	}
	for _, s := range req.AuxAddresses {
		a, err := netip.ParseAddr(s)
		if err != nil || !subnet.Contains(a) {
			return nil, fmt.Errorf("aux address %q: an address inside %s is required", s, subnet)
		}
		up.aux = append(up.aux, a)
	}
	if req.DNSAddr != "" {
		a, err := netip.ParseAddr(req.DNSAddr)
		if err != nil || !a.Is4() || !subnet.Contains(a) || a == gw || a == subnet.Addr() || slices.Contains(up.aux, a) {
			return nil, fmt.Errorf("dns address %q: a free IPv4 address inside %s is required (not the gateway or an aux address)", req.DNSAddr, subnet)
		}
		up.dns = a
	}
	return up, nil
}

// newPool is the network's address pool: the --ip-range (or the subnet),
// without the gateway, the aux addresses and the resolver's.
func (up *uplinkNet) newPool(subnet netip.Prefix, gw netip.Addr) (*ipam.Pool, error) {
	var pool *ipam.Pool
	var err error
	if up.rng.First.IsValid() {
		pool, err = ipam.NewRange(subnet, gw, up.rng)
	} else {
		pool, err = ipam.New(subnet, gw)
	}
	if err != nil {
		return nil, err
	}
	for _, a := range append(slices.Clone(up.aux), up.dns) {
		if !a.IsValid() {
			continue
		}
		if err := pool.Reserve(a); err != nil && !errors.Is(err, ipam.ErrInUse) {
			return nil, fmt.Errorf("aux address %s: %w", a, err)
		}
	}
	return pool, nil
}

// portVLAN is the VLAN of the network's ports on its switch: an uplink
// network of VLAN V tags and untags V on its uplink trunk port.
func (n *network) portVLAN() uint16 {
	if n.up != nil {
		return n.up.vlan
	}
	return n.vlan
}
