// Package gateway gives a switchyard network its gateway: a gVisor netstack
// attached to the network's switch as a port. It answers ARP and ICMP echo
// for the gateway address, serves DHCP and DNS there, and terminates the
// endpoints' outbound TCP and UDP in the stack to re-originate them from
// host sockets (package nat).
package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/switchyard/switchyard/nat"
	"github.com/switchyard/switchyard/port"
)

// DNSServer serves DNS on listeners the gateway opens in its stack.
type DNSServer interface {
	ServeUDP(net.PacketConn) error
	ServeTCP(net.Listener) error
}

// Config describes a gateway.
type Config struct {
	// Name is the gateway port's name on the switch ("gateway").
	Name string
	// Subnet is the network's subnet; Address the gateway's address in it.
	Subnet  netip.Prefix
	Address netip.Addr
	// MAC is the gateway's hardware address.
	MAC net.HardwareAddr
	// MTU is the largest IP packet the gateway sends without GSO (1500).
	MTU int
	// NAT configures outbound NAT (Gateway is filled in).
	NAT nat.Config
	// DHCP, when set, gets every IPv4 frame to UDP port 67 and returns the
	// reply frame to send, if any.
	DHCP func(frame []byte) ([]byte, bool)
	// DNS, when set, is served on DNSAddress:53 over UDP and TCP.
	DNS DNSServer
	// DNSAddress is where DNS is served: Address when unset, or a second
	// address of the gateway in Subnet (slirp4netns uses network+3).
	// Without DNS, a second address still answers ARP but swallows every
	// packet sent to it, as slirp4netns --disable-dns does (clients time
	// out instead of being refused).
	DNSAddress netip.Addr
	// Subnet6, when valid, turns IPv6 on: Address6 is the gateway's
	// address in it (the host-loopback alias, as Address), DNSAddress6
	// where DNS is also served (Address6 when unset). The gateway sends
	// router advertisements for Subnet6 (endpoints configure themselves
	// by SLAAC). Zero: IPv4 only.
	Subnet6               netip.Prefix
	Address6, DNSAddress6 netip.Addr
	// ForwardPing6 forwards ICMPv6 echo requests to outside addresses
	// through the NAT's ping sockets, as IPv4 echoes are (the daemon);
	// false drops them (the rootless helper, as slirp4netns).
	ForwardPing6 bool
	// UnreachableHostLoopback answers connections to Address that host
	// loopback does not allow with ICMP network unreachable, as
	// slirp4netns --disable-host-loopback does, instead of a reset.
	UnreachableHostLoopback bool
	// ResolverOnly makes the stack a network's DNS resolver and nothing
	// else: it serves DNS at DNSAddress (Address is ignored), answers ARP
	// and ping for it, and has no NAT, no DHCP, no IPv6 and no
	// promiscuous mode (an uplink network's router is the LAN's).
	ResolverOnly bool
	// AcceptFrom, when set, drops every frame whose source MAC it refuses
	// before the stack sees it (a resolver serving only the network's
	// endpoints, not the LAN behind an uplink).
	AcceptFrom func(mac [6]byte) bool
	// Log receives errors; nil discards them.
	Log *slog.Logger
}

// nicID is the gateway stack's only NIC.
const nicID = 1

// Gateway is a running gateway.
type Gateway struct {
	cfg   Config
	stack *stack.Stack
	link  *link
	nat   *nat.NAT
	dnsU  *gonet.UDPConn
	dnsT  *gonet.TCPListener
	dnsU6 *gonet.UDPConn
	dnsT6 *gonet.TCPListener
	ra    raState
	wg    sync.WaitGroup
	once  sync.Once
}

// New starts a gateway. Its Port must then be added to the network's switch.
func New(cfg Config) (*Gateway, error) {
	if cfg.Name == "" {
		cfg.Name = "gateway"
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if !cfg.DNSAddress.IsValid() {
		cfg.DNSAddress = cfg.Address
	}
	if cfg.ResolverOnly {
		if err := cfg.resolverOnly(); err != nil {
			return nil, err
		}
	}
	if !cfg.Address.Is4() || !cfg.Subnet.Contains(cfg.Address) || !cfg.Subnet.Contains(cfg.DNSAddress) || len(cfg.MAC) != 6 {
		return nil, fmt.Errorf("gateway: address %s must be an IPv4 address in %s, MAC %v 6 bytes", cfg.Address, cfg.Subnet, cfg.MAC)
	}
	if cfg.Subnet6.IsValid() {
		if !cfg.DNSAddress6.IsValid() {
			cfg.DNSAddress6 = cfg.Address6
		}
		if !cfg.Address6.Is6() || cfg.Address6.Is4In6() || !cfg.Subnet6.Contains(cfg.Address6) || !cfg.Subnet6.Contains(cfg.DNSAddress6) {
			return nil, fmt.Errorf("gateway: address %s must be an IPv6 address in %s", cfg.Address6, cfg.Subnet6)
		}
	}
	g := &Gateway{cfg: cfg, link: newLink(cfg.Name, tcpip.LinkAddress(cfg.MAC), uint32(cfg.MTU))}
	g.stack = newStack(cfg.Subnet6.IsValid())
	if err := g.configure(); err != nil {
		g.stack.Destroy()
		return nil, err
	}
	if cfg.ResolverOnly {
		g.link.intercept = g.interceptResolver
	} else {
		cfg.NAT.Gateway, cfg.NAT.Subnet = cfg.Address, cfg.Subnet
		cfg.NAT.Gateway6, cfg.NAT.Subnet6 = cfg.Address6, cfg.Subnet6
		g.nat = nat.New(g.stack, cfg.NAT)
		g.link.intercept = g.intercept
	}
	if cfg.Subnet6.IsValid() {
		g.wg.Add(1)
		go g.advertise()
	}
	if cfg.DNS != nil {
		if err := g.serveDNS(); err != nil {
			g.Close()
			return nil, err
		}
	}
	return g, nil
}

// newStack builds the stack with the TCP options a gateway carrying bulk
// traffic between TAPs and host sockets needs.
func newStack(v6 bool) *stack.Stack {
	opts := stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	}
	if v6 {
		opts.NetworkProtocols = append(opts.NetworkProtocols, ipv6.NewProtocol)
		opts.TransportProtocols = append(opts.TransportProtocols, icmp.NewProtocol6)
	}
	s := stack.New(opts)
	// SACK: recover several losses per window without falling back to
	// go-back-N (gVisor's default, set here so it cannot silently change).
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	// Buffers: 1 MiB to start, up to 8 MiB to receive and 6 MiB to send,
	// enough window for several Gb/s at the sub-millisecond RTTs between a
	// TAP and the host (gVisor's 4 MiB default caps throughput first).
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 8 << 20}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &rcv)
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 6 << 20}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &snd)
	// CUBIC, as Linux: grows the window faster than Reno at high
	// bandwidth-delay products and shares fairly with host flows.
	cc := tcpip.CongestionControlOption("cubic")
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &cc)
	// Moderate receive buffer: auto-tune each connection's window to the
	// rate the relay actually reads, so idle flows do not pin 8 MiB.
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod)
	// TIME-WAIT: 30 s instead of 60. A netstack endpoint keeps its whole
	// state (some 10 KiB) through TIME-WAIT, where Linux keeps a small
	// stub, so 10,000 proxied connections that close stay ~100 MiB for a
	// minute (issue 10 §6: back near idle a minute after they close).
	tw := tcpip.TCPTimeWaitTimeoutOption(30 * time.Second)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &tw)
	return s
}

// configure creates the NIC, its address and routes. Promiscuous mode
// delivers packets for any destination to the stack (the NAT forwarders
// take them); spoofing lets replies leave with those destinations as
// source.
func (g *Gateway) configure() error {
	s := g.stack
	if err := s.CreateNIC(nicID, g.link); err != nil {
		return fmt.Errorf("gateway: create NIC: %s", err)
	}
	addr := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(g.cfg.Address.As4()), PrefixLen: g.cfg.Subnet.Bits()}}
	if err := s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("gateway: add address: %s", err)
	}
	if g.cfg.DNSAddress != g.cfg.Address {
		addr.AddressWithPrefix.Address = tcpip.AddrFrom4(g.cfg.DNSAddress.As4())
		if err := s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("gateway: add DNS address: %s", err)
		}
	}
	sub, err := tcpip.NewSubnet(tcpip.AddrFrom4(g.cfg.Subnet.Addr().As4()), tcpip.MaskFromBytes(net.CIDRMask(g.cfg.Subnet.Bits(), 32)))
	if err != nil {
		return fmt.Errorf("gateway: subnet: %w", err)
	}
	routes := []tcpip.Route{{Destination: sub, NIC: nicID}}
	if g.cfg.Subnet6.IsValid() {
		r6, err := g.configure6()
		if err != nil {
			return err
		}
		routes = append(routes, r6...)
	}
	s.SetRouteTable(routes)
	if g.cfg.ResolverOnly {
		return nil // its own address only
	}
	if err := s.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("gateway: promiscuous mode: %s", err)
	}
	if err := s.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("gateway: spoofing: %s", err)
	}
	return nil
}

// serveDNS opens Address:53 in the stack for the DNS server.
func (g *Gateway) serveDNS() error {
	fa := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(g.cfg.DNSAddress.As4()), Port: 53}
	var err error
	if g.dnsU, err = gonet.DialUDP(g.stack, &fa, nil, ipv4.ProtocolNumber); err != nil {
		return fmt.Errorf("gateway: DNS over UDP: %w", err)
	}
	if g.dnsT, err = gonet.ListenTCP(g.stack, fa, ipv4.ProtocolNumber); err != nil {
		return fmt.Errorf("gateway: DNS over TCP: %w", err)
	}
	g.wg.Add(2)
	go func() { defer g.wg.Done(); g.logServe("udp", g.cfg.DNS.ServeUDP(g.dnsU)) }()
	go func() { defer g.wg.Done(); g.logServe("tcp", g.cfg.DNS.ServeTCP(g.dnsT)) }()
	if g.cfg.Subnet6.IsValid() {
		return g.serveDNS6()
	}
	return nil
}

func (g *Gateway) logServe(proto string, err error) {
	if err != nil && !errors.Is(err, net.ErrClosed) {
		g.cfg.Log.Debug("gateway: DNS server stopped", "proto", proto, "err", err)
	}
}

// Port is the gateway's switch port.
func (g *Gateway) Port() port.Port { return switchPort{g.link} }

// NAT is the gateway's outbound NAT (flows, counters); nil for a
// ResolverOnly stack.
func (g *Gateway) NAT() *nat.NAT { return g.nat }

// Close stops the services, ends every NAT flow and destroys the stack.
func (g *Gateway) Close() {
	g.once.Do(func() {
		if g.dnsU != nil {
			g.dnsU.Close()
		}
		if g.dnsT != nil {
			g.dnsT.Close()
		}
		if g.dnsU6 != nil {
			g.dnsU6.Close()
		}
		if g.dnsT6 != nil {
			g.dnsT6.Close()
		}
		if g.nat != nil {
			g.nat.Close()
		}
		g.link.Close()
		g.wg.Wait()
		g.stack.Close()
		g.stack.Wait()
	})
}

// Stats are the gateway port's counters.
type Stats struct {
	// ToStack and FromStack count frames delivered to and sent by the
	// stack (and the gateway's own DHCP and ICMP replies).
	ToStack, FromStack uint64
	// QueueDrops counts frames dropped because the switch did not take
	// them fast enough; BadChecksum and Malformed count frames refused.
	QueueDrops, BadChecksum, Malformed uint64
}

// Stats returns the gateway port's counters.
func (g *Gateway) Stats() Stats {
	s := &g.link.stats
	return Stats{ToStack: s.toStack.Load(), FromStack: s.fromStack.Load(), QueueDrops: s.txQueueDrops.Load(),
		BadChecksum: s.badChecksum.Load(), Malformed: s.malformed.Load()}
}
