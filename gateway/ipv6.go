package gateway

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/switchyard/switchyard/nat"
)

// Router advertisement parameters (what slirp4netns/libslirp advertise,
// rounded): the guest keeps its default route and addresses as long as
// the gateway sends an RA now and then (raRefresh while there is traffic).
const (
	raRouterLifetime  = 1800 * time.Second
	raValidLifetime   = 86400 * time.Second
	raPreferredLife   = 14400 * time.Second
	raRDNSSLifetime   = 1800 * time.Second
	raRefresh         = 60 * time.Second
	raPeriodic        = 600 * time.Second
	raMaxTrackedPeers = 1024
)

// raState remembers when each endpoint (by MAC) last got an RA, so the
// first IPv6 frame of a new endpoint, and traffic after raRefresh, trigger
// an unsolicited one.
type raState struct {
	mu   sync.Mutex
	last map[tcpip.LinkAddress]time.Time
}

// linkLocal6 is the gateway's link-local address (EUI-64 from its MAC),
// the source of its RAs and the endpoints' default router.
func (g *Gateway) linkLocal6() tcpip.Address { return header.LinkLocalAddr(g.link.mac) }

// configure6 adds the IPv6 addresses and returns the IPv6 routes.
func (g *Gateway) configure6() ([]tcpip.Route, error) {
	s := g.stack
	add := func(a tcpip.Address, bits int) error {
		pa := tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: a, PrefixLen: bits}}
		if err := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("gateway: add IPv6 address %s: %s", a, err)
		}
		return nil
	}
	if err := add(tcpip.AddrFrom16(g.cfg.Address6.As16()), g.cfg.Subnet6.Bits()); err != nil {
		return nil, err
	}
	if g.cfg.DNSAddress6 != g.cfg.Address6 {
		if err := add(tcpip.AddrFrom16(g.cfg.DNSAddress6.As16()), g.cfg.Subnet6.Bits()); err != nil {
			return nil, err
		}
	}
	if err := add(g.linkLocal6(), 64); err != nil {
		return nil, err
	}
	p6 := g.cfg.Subnet6.Masked()
	sub, err := tcpip.NewSubnet(tcpip.AddrFrom16(p6.Addr().As16()), tcpip.MaskFromBytes(netMask(p6.Bits(), 128)))
	if err != nil {
		return nil, fmt.Errorf("gateway: subnet %s: %w", p6, err)
	}
	ll, _ := tcpip.NewSubnet(tcpip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80}), tcpip.MaskFromBytes(netMask(64, 128)))
	return []tcpip.Route{{Destination: sub, NIC: nicID}, {Destination: ll, NIC: nicID}}, nil
}

func netMask(ones, bits int) []byte {
	m := make([]byte, bits/8)
	for i := 0; i < ones; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// serveDNS6 opens [DNSAddress6]:53 in the stack for the DNS server.
func (g *Gateway) serveDNS6() error {
	fa := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(g.cfg.DNSAddress6.As16()), Port: 53}
	var err error
	if g.dnsU6, err = gonet.DialUDP(g.stack, &fa, nil, ipv6.ProtocolNumber); err != nil {
		return fmt.Errorf("gateway: DNS over UDP/IPv6: %w", err)
	}
	if g.dnsT6, err = gonet.ListenTCP(g.stack, fa, ipv6.ProtocolNumber); err != nil {
		return fmt.Errorf("gateway: DNS over TCP/IPv6: %w", err)
	}
	g.wg.Add(2)
	go func() { defer g.wg.Done(); g.logServe("udp6", g.cfg.DNS.ServeUDP(g.dnsU6)) }()
	go func() { defer g.wg.Done(); g.logServe("tcp6", g.cfg.DNS.ServeTCP(g.dnsT6)) }()
	return nil
}

// isOwn6 reports whether a is one of the gateway's IPv6 addresses.
func (g *Gateway) isOwn6(a tcpip.Address) bool {
	if a == g.linkLocal6() {
		return true
	}
	ip := netip.AddrFrom16(a.As16())
	return ip == g.cfg.Address6 || ip == g.cfg.DNSAddress6
}

// interceptIPv6 handles the IPv6 frames the stack must not see: neighbour
// solicitations for addresses that are not the gateway's (the spoofing
// stack would claim them all, breaking the endpoints' duplicate address
// detection), router solicitations (answered here: gVisor does not send
// RAs) and echo requests to outside addresses (the spoofing stack would
// answer them itself). It also sends an unsolicited RA to endpoints it
// has not advertised to lately.
func (g *Gateway) interceptIPv6(frame []byte) bool {
	eth := header.Ethernet(frame)
	ip := header.IPv6(frame[header.EthernetMinimumSize:])
	if !ip.IsValid(len(ip)) {
		return true
	}
	payload := ip[header.IPv6MinimumSize : header.IPv6MinimumSize+int(ip.PayloadLength())]
	src := eth.SourceAddress()
	if tcpip.TransportProtocolNumber(ip.NextHeader()) == header.ICMPv6ProtocolNumber && len(payload) >= header.ICMPv6MinimumSize {
		icmp := header.ICMPv6(payload)
		switch icmp.Type() {
		case header.ICMPv6RouterSolicit:
			g.sendRA(src, ip.SourceAddress())
			return true
		case header.ICMPv6NeighborSolicit:
			if len(payload) < header.ICMPv6NeighborSolicitMinimumSize {
				return true
			}
			g.maybeRA(src)
			return !g.isOwn6(header.NDPNeighborSolicit(icmp.MessageBody()).TargetAddress())
		case header.ICMPv6EchoRequest:
			g.maybeRA(src)
			if g.isOwn6(ip.DestinationAddress()) {
				return false
			}
			if g.cfg.ForwardPing6 && len(payload) >= header.ICMPv6EchoMinimumSize {
				g.forwardPing6(src, ip, header.ICMPv6(payload))
			} else {
				g.nat.DropPing()
			}
			return true
		case header.ICMPv6RouterAdvert, header.ICMPv6RedirectMsg:
			return true // the gateway is the only router
		}
	}
	if g.cfg.UnreachableHostLoopback && g.deniedHostLoopback6(ip, payload) {
		g.inject(unreachableFrame6(eth, g.link.mac, ip))
		return true
	}
	g.maybeRA(src)
	return false
}

// advertise sends an RA to all nodes every raPeriodic until the link
// closes, so an idle guest keeps its default route (router lifetime
// raRouterLifetime).
func (g *Gateway) advertise() {
	defer g.wg.Done()
	t := time.NewTicker(raPeriodic)
	defer t.Stop()
	allNodes := header.EthernetAddressFromMulticastIPv6Address(header.IPv6AllNodesMulticastAddress)
	for {
		select {
		case <-g.link.closed:
			return
		case <-t.C:
			g.inject(g.raFrame(allNodes, header.IPv6AllNodesMulticastAddress))
		}
	}
}

// maybeRA sends an unsolicited RA to the endpoint at mac when it never
// got one, or not for raRefresh.
func (g *Gateway) maybeRA(mac tcpip.LinkAddress) {
	if header.IsMulticastEthernetAddress(mac) {
		return
	}
	now := time.Now()
	r := &g.ra
	r.mu.Lock()
	if r.last == nil {
		r.last = map[tcpip.LinkAddress]time.Time{}
	}
	t, ok := r.last[mac]
	if ok && now.Sub(t) < raRefresh {
		r.mu.Unlock()
		return
	}
	if len(r.last) >= raMaxTrackedPeers {
		clear(r.last)
	}
	r.last[mac] = now
	r.mu.Unlock()
	g.inject(g.raFrame(mac, header.IPv6AllNodesMulticastAddress))
}

// sendRA answers a router solicitation from mac (source address src,
// unspecified when the endpoint has no address yet).
func (g *Gateway) sendRA(mac tcpip.LinkAddress, src tcpip.Address) {
	dst := src
	if src == (tcpip.Address{}) || src.Unspecified() || src.Len() != 16 {
		dst = header.IPv6AllNodesMulticastAddress
	}
	g.ra.mu.Lock()
	if g.ra.last == nil {
		g.ra.last = map[tcpip.LinkAddress]time.Time{}
	}
	g.ra.last[mac] = time.Now()
	g.ra.mu.Unlock()
	g.inject(g.raFrame(mac, dst))
}

// raFrame builds a router advertisement from the gateway's link-local
// address to dst (Ethernet destination dstMAC): source link-layer address,
// MTU, prefix information (on-link, autonomous) for Subnet6 and RDNSS
// (DNSAddress6, when DNS is served).
func (g *Gateway) raFrame(dstMAC tcpip.LinkAddress, dst tcpip.Address) []byte {
	opts := 8 + 8 + 32
	if g.cfg.DNS != nil {
		opts += 24
	}
	icmpLen := header.ICMPv6HeaderSize + header.NDPRAMinimumSize + opts
	n := header.EthernetMinimumSize + header.IPv6MinimumSize + icmpLen
	b := make([]byte, n)
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: g.link.mac, DstAddr: dstMAC, Type: header.IPv6ProtocolNumber})
	src := g.linkLocal6()
	ip := header.IPv6(b[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv6Fields{PayloadLength: uint16(icmpLen), TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit: header.NDPHopLimit, SrcAddr: src, DstAddr: dst})
	m := b[header.EthernetMinimumSize+header.IPv6MinimumSize:]
	m[0] = byte(header.ICMPv6RouterAdvert)
	ra := m[header.ICMPv6HeaderSize:]
	ra[0] = 64 // current hop limit
	binary.BigEndian.PutUint16(ra[2:], uint16(raRouterLifetime/time.Second))
	o := ra[header.NDPRAMinimumSize:]
	// Source link-layer address.
	o[0], o[1] = 1, 1
	copy(o[2:8], g.link.mac)
	o = o[8:]
	// MTU.
	o[0], o[1] = 5, 1
	binary.BigEndian.PutUint32(o[4:], uint32(g.link.MTU()))
	o = o[8:]
	// Prefix information: on-link and autonomous.
	p := g.cfg.Subnet6.Masked()
	o[0], o[1], o[2], o[3] = 3, 4, byte(p.Bits()), 0xc0
	binary.BigEndian.PutUint32(o[4:], uint32(raValidLifetime/time.Second))
	binary.BigEndian.PutUint32(o[8:], uint32(raPreferredLife/time.Second))
	a := p.Addr().As16()
	copy(o[16:32], a[:])
	o = o[32:]
	if g.cfg.DNS != nil {
		// Recursive DNS server.
		o[0], o[1] = 25, 3
		binary.BigEndian.PutUint32(o[4:], uint32(raRDNSSLifetime/time.Second))
		d := g.cfg.DNSAddress6.As16()
		copy(o[8:24], d[:])
	}
	binary.BigEndian.PutUint16(m[2:], ^checksum.Checksum(m, header.PseudoHeaderChecksum(header.ICMPv6ProtocolNumber, src, dst, uint16(len(m)))))
	return b
}

// deniedHostLoopback6 is deniedHostLoopback for Address6.
func (g *Gateway) deniedHostLoopback6(ip header.IPv6, payload []byte) bool {
	if g.nat.HostLoopbackAllowed() || netip.AddrFrom16(ip.DestinationAddress().As16()) != g.cfg.Address6 {
		return false
	}
	port, ok := openingPort(tcpip.TransportProtocolNumber(ip.NextHeader()), payload)
	if !ok {
		return false
	}
	dnsHere := g.cfg.DNS != nil && g.cfg.DNSAddress6 == g.cfg.Address6
	return !(port == 53 && dnsHere)
}

// unreachableFrame6 builds ICMPv6 destination unreachable, code no route,
// answering the packet ip.
func unreachableFrame6(req header.Ethernet, srcMAC tcpip.LinkAddress, ip header.IPv6) []byte {
	quote := ip[:min(len(ip), 1280-header.IPv6MinimumSize-header.ICMPv6DstUnreachableMinimumSize)]
	icmpLen := header.ICMPv6DstUnreachableMinimumSize + len(quote)
	n := header.EthernetMinimumSize + header.IPv6MinimumSize + icmpLen
	b := make([]byte, n)
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: srcMAC, DstAddr: req.SourceAddress(), Type: header.IPv6ProtocolNumber})
	out := header.IPv6(b[header.EthernetMinimumSize:])
	src, dst := ip.DestinationAddress(), ip.SourceAddress()
	out.Encode(&header.IPv6Fields{PayloadLength: uint16(icmpLen), TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit: 64, SrcAddr: src, DstAddr: dst})
	m := header.ICMPv6(b[header.EthernetMinimumSize+header.IPv6MinimumSize:])
	m.SetType(header.ICMPv6DstUnreachable)
	m.SetCode(header.ICMPv6NetworkUnreachable)
	copy(m[header.ICMPv6DstUnreachableMinimumSize:], quote)
	m.SetChecksum(^checksum.Checksum(m, header.PseudoHeaderChecksum(header.ICMPv6ProtocolNumber, src, dst, uint16(len(m)))))
	return b
}

// forwardPing6 hands an IPv6 echo request to the NAT and, when the
// outside answers, sends the endpoint the reply.
func (g *Gateway) forwardPing6(endpointMAC tcpip.LinkAddress, ip header.IPv6, req header.ICMPv6) {
	e := nat.Echo{
		From: netip.AddrFrom16(ip.SourceAddress().As16()),
		To:   netip.AddrFrom16(ip.DestinationAddress().As16()),
		ID:   req.Ident(), Seq: req.Sequence(),
		Data: append([]byte(nil), req.Payload()...),
	}
	g.nat.Ping(e, func(ans nat.Echo) { g.inject(echoReplyFrame6(endpointMAC, g.link.mac, ans)) })
}

// echoReplyFrame6 builds the Ethernet frame carrying an ICMPv6 echo reply.
func echoReplyFrame6(dstMAC, srcMAC tcpip.LinkAddress, e nat.Echo) []byte {
	icmpLen := header.ICMPv6EchoMinimumSize + len(e.Data)
	b := make([]byte, header.EthernetMinimumSize+header.IPv6MinimumSize+icmpLen)
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: srcMAC, DstAddr: dstMAC, Type: header.IPv6ProtocolNumber})
	src, dst := tcpip.AddrFrom16(e.From.As16()), tcpip.AddrFrom16(e.To.As16())
	header.IPv6(b[header.EthernetMinimumSize:]).Encode(&header.IPv6Fields{PayloadLength: uint16(icmpLen),
		TransportProtocol: header.ICMPv6ProtocolNumber, HopLimit: 64, SrcAddr: src, DstAddr: dst})
	m := header.ICMPv6(b[header.EthernetMinimumSize+header.IPv6MinimumSize:])
	m.SetType(header.ICMPv6EchoReply)
	m.SetIdent(e.ID)
	m.SetSequence(e.Seq)
	copy(m.Payload(), e.Data)
	m.SetChecksum(^checksum.Checksum(m, header.PseudoHeaderChecksum(header.ICMPv6ProtocolNumber, src, dst, uint16(len(m)))))
	return b
}
