package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cluster"
	"github.com/switchyard/switchyard/dns"
	"github.com/switchyard/switchyard/ipam"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/vxlan"
)

// overlayState is the daemon's overlay machinery: the cluster store (nil
// without --cluster-store) and the VXLAN sockets, one per UDP port, shared
// by the networks on that port. Guarded by d.mu.
type overlayState struct {
	store   *cluster.Store
	sockets map[int]*vxlan.Socket
	closing bool
}

func newOverlayState() *overlayState {
	return &overlayState{sockets: map[int]*vxlan.Socket{}}
}

// overlayNet is an overlay network's tunnel and what it was told about the
// other hosts.
type overlayNet struct {
	vni    uint32
	port   int
	peers  []netip.Addr // static --peer VTEPs
	tunnel *vxlan.Tunnel
	tport  vswitch.PortID
	// remote are the other hosts' endpoints last programmed.
	remote []cluster.Endpoint
	// fromStore marks a removal that the cluster already made.
	fromStore bool
}

// planOverlay checks a network request's driver fields; it returns nil
// for a bridge network.
func (d *Daemon) planOverlay(req api.NetworkCreate) (*overlayNet, error) {
	switch req.Driver {
	case "", api.DriverBridge, api.DriverUplink:
		if req.VNI != 0 || req.VXLANPort != 0 || len(req.Peers) != 0 {
			return nil, fmt.Errorf("%w: --vni, --vxlan-port and --peer need --driver overlay", ErrInvalid)
		}
		return nil, nil
	case api.DriverOverlay:
	default:
		return nil, fmt.Errorf("%w: unknown driver %q (bridge, overlay, uplink)", ErrInvalid, req.Driver)
	}
	ov := &overlayNet{vni: req.VNI, port: req.VXLANPort}
	if ov.vni == 0 {
		ov.vni = cluster.FirstVNI
	}
	if ov.port == 0 {
		ov.port = vxlan.DefaultPort
	}
	switch {
	case req.VLAN != 0:
		return nil, fmt.Errorf("%w: an overlay network cannot have a VLAN", ErrInvalid)
	case ov.vni > vxlan.MaxVNI:
		return nil, fmt.Errorf("%w: VNI %d out of range [1, %d]", ErrInvalid, ov.vni, vxlan.MaxVNI)
	case ov.port < 1 || ov.port > 65535:
		return nil, fmt.Errorf("%w: VXLAN port %d out of range", ErrInvalid, ov.port)
	case req.DHCPRange != "":
		return nil, fmt.Errorf("%w: an overlay network has no dynamic DHCP range: addresses are allocated cluster-wide by attach (attach --dhcp is served)", ErrInvalid)
	}
	for _, p := range req.Peers {
		a, err := netip.ParseAddr(p)
		if err != nil || !a.Unmap().Is4() || a.IsUnspecified() || a.IsMulticast() {
			return nil, fmt.Errorf("%w: peer %q: an IPv4 unicast address is required", ErrInvalid, p)
		}
		ov.peers = append(ov.peers, a.Unmap())
	}
	return ov, nil
}

// dhcp adjusts a network's DHCP plan: an overlay network serves DHCP to
// attached endpoints only, since dynamic leases would be handed out by
// every host independently.
func (ov *overlayNet) dhcp(ds dhcpSetup) dhcpSetup {
	if ov != nil {
		ds.rng = ipam.Range{}
	}
	return ds
}

// overlayMTU is an overlay network's default MTU: the underlay's minus the
// VXLAN overhead.
func (d *Daemon) overlayMTU(ov *overlayNet) int {
	var to netip.Addr
	if len(ov.peers) > 0 {
		to = ov.peers[0]
	}
	return underlayMTU(d.advertise(), to) - vxlan.Overhead
}

// advertise returns this host's VTEP address (invalid without a cluster).
func (d *Daemon) advertise() netip.Addr {
	a, _ := netip.ParseAddr(d.cfg.ClusterAdvertise)
	return a
}

// anycastMAC is an overlay gateway's MAC, the same on every host: 02:53:59
// followed by the VNI.
func anycastMAC(vni uint32) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x53, 0x59, byte(vni >> 16), byte(vni >> 8), byte(vni)}
}

// gatewayMAC picks a new network's gateway MAC: the anycast MAC for an
// overlay network, a random one otherwise.
func (d *Daemon) gatewayMAC(n *network) (net.HardwareAddr, error) {
	if n.ov != nil {
		return anycastMAC(n.ov.vni), nil
	}
	return randomMAC()
}

// startOverlay adds the tunnel port to an overlay network's switch; d.mu
// must be held.
func (d *Daemon) startOverlay(n *network) error {
	ov := n.ov
	if ov == nil {
		return nil
	}
	sock := d.ov.sockets[ov.port]
	if sock == nil {
		var err error
		sock, err = vxlan.Listen(vxlan.Config{Addr: d.advertise(), Port: ov.port, Log: d.cfg.Log})
		if err != nil {
			return fmt.Errorf("network %q: %w", n.name, err)
		}
		d.ov.sockets[ov.port] = sock
	}
	t, err := sock.Tunnel(vxlan.TunnelConfig{VNI: ov.vni, MTU: n.mtu, LocalMACs: []net.HardwareAddr{n.gwMAC},
		AgeingTime: time.Duration(d.cfg.AgeingTime), MaxEntries: d.cfg.FDBMax})
	if err != nil {
		d.releaseSocket(ov.port)
		return fmt.Errorf("%w: network %q: %w", ErrConflict, n.name, err)
	}
	id, err := n.sw.AddPort(t, vswitch.PortConfig{Name: "vxlan"})
	if err != nil {
		t.Close()
		d.releaseSocket(ov.port)
		return fmt.Errorf("network %q: tunnel port: %w", n.name, err)
	}
	ov.tunnel, ov.tport = t, id
	d.programRemote(n)
	return nil
}

// stopOverlay removes the tunnel port; d.mu must be held.
func (d *Daemon) stopOverlay(n *network) {
	if n.ov == nil || n.ov.tunnel == nil {
		return
	}
	if err := n.sw.RemovePort(n.ov.tport); err != nil {
		d.cfg.Log.Warn("remove tunnel port", "network", n.name, "err", err)
	}
	n.ov.tunnel = nil
	d.releaseSocket(n.ov.port)
}

// releaseSocket closes a VXLAN socket no tunnel uses any more.
func (d *Daemon) releaseSocket(port int) {
	if s := d.ov.sockets[port]; s != nil && s.Tunnels() == 0 {
		s.Close()
		delete(d.ov.sockets, port)
	}
}

// programRemote points the tunnel at the other hosts' endpoints: a static
// entry per remote MAC, their addresses for ARP answered on this host, and
// the flood list made of the static peers and every host with endpoints on
// the network; d.mu must be held.
func (d *Daemon) programRemote(n *network) {
	ov := n.ov
	if ov.tunnel == nil {
		return
	}
	peers := slices.Clone(ov.peers)
	want := map[string]bool{}
	neigh := map[netip.Addr]net.HardwareAddr{}
	for _, e := range ov.remote {
		mac, err1 := net.ParseMAC(e.MAC)
		vtep, err2 := netip.ParseAddr(e.VTEP)
		if err1 != nil || err2 != nil {
			continue
		}
		if a, err := netip.ParseAddr(e.IP); err == nil && a.Is4() {
			neigh[a] = mac
		}
		want[mac.String()] = true
		if err := ov.tunnel.SetRemote(mac, vtep); err != nil {
			d.cfg.Log.Warn("remote endpoint not programmed", "network", n.name, "endpoint", e.Name, "err", err)
			continue
		}
		if !slices.Contains(peers, vtep) {
			peers = append(peers, vtep)
		}
	}
	for _, e := range ov.tunnel.Entries() {
		if e.Static && !want[e.MAC.String()] {
			ov.tunnel.RemoveRemote(e.MAC)
		}
	}
	if err := ov.tunnel.SetPeers(peers); err != nil {
		d.cfg.Log.Warn("flood list not set", "network", n.name, "err", err)
	}
	if err := ov.tunnel.SetNeighbors(neigh); err != nil {
		d.cfg.Log.Warn("remote endpoints' addresses not set for local ARP answers", "network", n.name, "err", err)
	}
}

// remoteRecords are the DNS records of the other hosts' endpoints.
func (n *network) remoteRecords() []dns.Record {
	if n.ov == nil {
		return nil
	}
	var recs []dns.Record
	for _, e := range n.ov.remote {
		if a, err := netip.ParseAddr(e.IP); err == nil {
			recs = append(recs, dns.Record{Name: e.Name, Aliases: e.Aliases, Addrs: []netip.Addr{a}})
		}
	}
	return recs
}

// describeOverlay fills a network description's driver fields.
func (n *network) describeOverlay(out *api.Network) {
	out.Driver = api.DriverBridge
	if n.ov == nil {
		return
	}
	out.Driver, out.VNI, out.VXLANPort = api.DriverOverlay, n.ov.vni, n.ov.port
	for _, p := range n.ov.peers {
		out.Peers = append(out.Peers, p.String())
	}
}
