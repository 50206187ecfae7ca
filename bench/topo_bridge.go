package bench

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
)

// BridgeTopology connects the endpoints through a Linux bridge in a third
// "host" namespace, with a veth pair per endpoint. Nothing is created in
// the caller's namespace. It is the reference the other datapaths are
// compared against.
type BridgeTopology struct {
	topoBase
}

// NewBridgeTopology returns a kernel bridge topology.
func NewBridgeTopology(opts TopologyOptions) (*BridgeTopology, error) {
	b, err := newTopoBase("br", opts)
	if err != nil {
		return nil, err
	}
	return &BridgeTopology{topoBase: b}, nil
}

// Name implements Topology.
func (t *BridgeTopology) Name() string { return "kernel-bridge" }

// Setup implements Topology.
func (t *BridgeTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	ns, err := t.newNetnses(ctx, "host", "a", "b")
	if err != nil {
		return Pair{}, err
	}
	hostNs, clientNs, serverNs := ns[0], ns[1], ns[2]
	host, err := openNsLinks(hostNs)
	if err != nil {
		return Pair{}, err
	}
	defer host.Close()

	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0", MTU: mtu}}
	if err := host.handle.LinkAdd(br); err != nil {
		return Pair{}, fmt.Errorf("%s: add bridge br0 (mtu %d): %w", hostNs, mtu, err)
	}
	if err := host.handle.LinkSetUp(br); err != nil {
		return Pair{}, fmt.Errorf("%s: br0 up: %w", hostNs, err)
	}
	p := t.pair(clientNs, serverNs, mtu)
	for _, ep := range []struct {
		port string
		e    Endpoint
	}{{"va", p.Client}, {"vb", p.Server}} {
		if err := t.plug(ctx, host, br, ep.port, ep.e, mtu); err != nil {
			return Pair{}, err
		}
	}
	if err := prepareClient(ctx, clientNs); err != nil {
		return Pair{}, err
	}
	t.log.Debug("bridge ready", "mtu", mtu, "client", p.Client, "server", p.Server)
	return p, nil
}

// plug creates a veth pair with port on the bridge and eth0 in the
// endpoint's namespace, then addresses eth0.
func (t *BridgeTopology) plug(ctx context.Context, host *nsLinks, br *netlink.Bridge, port string, e Endpoint, mtu int) error {
	ep, err := openNsLinks(e.Netns)
	if err != nil {
		return err
	}
	defer ep.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: port, MTU: mtu, MasterIndex: br.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(ep.fd)),
		PeerMTU:       uint32(mtu),
	}
	if err := host.handle.LinkAdd(veth); err != nil {
		return fmt.Errorf("%s: add veth %s to %s/eth0: %w", host.ns, port, e.Netns, err)
	}
	if err := host.handle.LinkSetUp(veth); err != nil {
		return fmt.Errorf("%s: %s up: %w", host.ns, port, err)
	}
	l, err := ep.waitLink(ctx, "eth0", dynamicTimeout)
	if err != nil {
		return err
	}
	return ep.configure(l, "", mtu, t.hostPrefixFor(e))
}
