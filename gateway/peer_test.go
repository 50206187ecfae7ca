package gateway

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// peer is an endpoint made of a second gVisor stack whose frames go
// straight to and from the gateway's port (no switch, no TAP, no root):
// what it sends is written to the gateway, what the gateway sends is
// segmented and checksummed the way the switch does for a port without
// offloads, then injected.
type peer struct {
	s  *stack.Stack
	ch *channel.Endpoint
}

var (
	gwAddr   = netip.MustParseAddr("10.77.0.1")
	peerAddr = netip.MustParseAddr("10.77.0.2")
	subnet   = netip.MustParsePrefix("10.77.0.0/24")

	subnet6   = netip.MustParsePrefix("fd00::/64")
	gwAddr6   = netip.MustParseAddr("fd00::2")
	dnsAddr6  = netip.MustParseAddr("fd00::3")
	peerAddr6 = netip.MustParseAddr("fd00::100")
	peerMAC   = tcpip.LinkAddress([]byte{2, 0, 0, 0, 0, 2})
)

func newPeer(t *testing.T, g *Gateway) *peer {
	t.Helper()
	return newPeerWith(t, g, false)
}

// newPeerWith also gives the peer IPv6 when v6 is set: the static address
// peerAddr6 and a default route via gwAddr6.
func newPeerWith(t *testing.T, g *Gateway, v6 bool) *peer {
	t.Helper()
	opts := stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	}
	if v6 {
		opts.NetworkProtocols = append(opts.NetworkProtocols, ipv6.NewProtocol)
		opts.TransportProtocols = append(opts.TransportProtocols, icmp.NewProtocol6)
	}
	s := stack.New(opts)
	ch := channel.New(1024, 1500, peerMAC)
	if err := s.CreateNIC(1, ethernet.New(ch)); err != nil {
		t.Fatal(err)
	}
	s.AddProtocolAddress(1, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(peerAddr.As4()), PrefixLen: 24}}, stack.AddressProperties{})
	routes := []tcpip.Route{{Destination: header0(), Gateway: tcpip.AddrFrom4(gwAddr.As4()), NIC: 1}}
	if v6 {
		s.AddProtocolAddress(1, tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(peerAddr6.As16()), PrefixLen: 64}}, stack.AddressProperties{})
		any6, _ := tcpip.NewSubnet(tcpip.AddrFrom16([16]byte{}), tcpip.MaskFromBytes(make([]byte, 16)))
		routes = append(routes, tcpip.Route{Destination: any6, Gateway: tcpip.AddrFrom16(gwAddr6.As16()), NIC: 1})
	}
	s.SetRouteTable(routes)
	p := &peer{s: s, ch: ch}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go p.toGateway(ctx, g.Port(), done)
	go p.fromGateway(g.Port(), done)
	t.Cleanup(func() {
		cancel()
		g.Close()
		<-done
		<-done
		s.Close()
		s.Wait()
	})
	return p
}

func header0() tcpip.Subnet {
	sn, _ := tcpip.NewSubnet(tcpip.AddrFrom4([4]byte{}), tcpip.MaskFromBytes(make([]byte, 4)))
	return sn
}

func (p *peer) toGateway(ctx context.Context, gw port.Port, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	f := port.Get(port.MaxSuperFrame)
	defer port.Put(f)
	for {
		pkt := p.ch.ReadContext(ctx)
		if pkt == nil {
			return
		}
		f.Reset()
		n := 0
		for _, s := range pkt.AsSlices() {
			n += copy(f.Space()[n:], s)
		}
		f.Len = n
		pkt.DecRef()
		gw.WriteFrames([]*port.Frame{f})
	}
}

func (p *peer) fromGateway(gw port.Port, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	fs := []*port.Frame{port.Get(port.MaxSuperFrame)}
	segs := make([][]byte, 64)
	for i := range segs {
		segs[i] = make([]byte, 1600)
	}
	sizes := make([]int, 64)
	for {
		if _, err := gw.ReadFrames(fs); err != nil {
			return
		}
		f := fs[0]
		if f.VNet.IsGSO() {
			n, err := offload.Segment(&f.VNet, f.Data(), 1500, segs, sizes)
			if err != nil {
				panic(err)
			}
			for i := range n {
				p.inject(segs[i][:sizes[i]])
			}
			continue
		}
		if f.VNet.Flags&offload.FlagNeedsCsum != 0 {
			if err := offload.Checksum(&f.VNet, f.Data()); err != nil {
				panic(err)
			}
		}
		p.inject(f.Data())
	}
}

func (p *peer) inject(frame []byte) {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	p.ch.InjectInbound(0, pkt)
	pkt.DecRef()
}

func full(a netip.AddrPort) tcpip.FullAddress {
	if a.Addr().Is6() {
		return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom16(a.Addr().As16()), Port: a.Port()}
	}
	return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(a.Addr().As4()), Port: a.Port()}
}

func mustGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	cfg.Subnet, cfg.Address = subnet, gwAddr
	cfg.MAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func errClosedPort() error { return port.ErrClosed }
