package gateway

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"

	"github.com/switchyard/switchyard/dns"
	"github.com/switchyard/switchyard/nat"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/port"
)

var peerLL = tcpip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 15: 0x42})

// icmp6Frame builds an Ethernet frame with an ICMPv6 message (type typ,
// body after the 4-byte header).
func icmp6Frame(dstMAC tcpip.LinkAddress, src, dst tcpip.Address, typ header.ICMPv6Type, body []byte) []byte {
	icmpLen := header.ICMPv6HeaderSize + len(body)
	b := make([]byte, header.EthernetMinimumSize+header.IPv6MinimumSize+icmpLen)
	header.Ethernet(b).Encode(&header.EthernetFields{SrcAddr: peerMAC, DstAddr: dstMAC, Type: header.IPv6ProtocolNumber})
	header.IPv6(b[header.EthernetMinimumSize:]).Encode(&header.IPv6Fields{PayloadLength: uint16(icmpLen),
		TransportProtocol: header.ICMPv6ProtocolNumber, HopLimit: 255, SrcAddr: src, DstAddr: dst})
	m := b[header.EthernetMinimumSize+header.IPv6MinimumSize:]
	m[0] = byte(typ)
	copy(m[header.ICMPv6HeaderSize:], body)
	binary.BigEndian.PutUint16(m[2:], ^checksum.Checksum(m, header.PseudoHeaderChecksum(header.ICMPv6ProtocolNumber, src, dst, uint16(len(m)))))
	return b
}

// frames reads the gateway port's frames (copies) until it closes.
func frames(t *testing.T, g *Gateway) <-chan []byte {
	ch := make(chan []byte, 64)
	go func() {
		fs := []*port.Frame{port.Get(port.MaxSuperFrame)}
		for {
			if _, err := g.Port().ReadFrames(fs); err != nil {
				close(ch)
				return
			}
			ch <- append([]byte(nil), fs[0].Data()...)
		}
	}()
	t.Cleanup(g.Close)
	return ch
}

func writeFrame(g *Gateway, frame []byte) {
	f := port.Get(len(frame))
	f.SetData(frame)
	g.Port().WriteFrames([]*port.Frame{f})
	port.Put(f)
}

func next(t *testing.T, ch <-chan []byte, d time.Duration) []byte {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(d):
		return nil
	}
}

func v6Config(cfg Config) Config {
	cfg.Subnet6, cfg.Address6, cfg.DNSAddress6 = subnet6, gwAddr6, dnsAddr6
	return cfg
}

func TestIPv6RouterAdvertAndNeighborFilter(t *testing.T) {
	srv := dns.New(dns.Config{Domain: "x"})
	defer srv.Close()
	g := mustGateway(t, v6Config(Config{DNS: srv, MTU: 1500}))
	ch := frames(t, g)
	allRouters := tcpip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 2})
	rs := append(make([]byte, 4), 1, 1, 2, 0, 0, 0, 0, 2) // reserved, source link-layer address option
	writeFrame(g, icmp6Frame(header.EthernetAddressFromMulticastIPv6Address(allRouters), peerLL, allRouters, header.ICMPv6RouterSolicit, rs))
	f := next(t, ch, 5*time.Second)
	if f == nil {
		t.Fatal("no answer to a router solicitation")
	}
	if !checksumsValid(f) {
		t.Fatal("RA checksum")
	}
	eth := header.Ethernet(f)
	ip := header.IPv6(f[header.EthernetMinimumSize:])
	if eth.DestinationAddress() != peerMAC || eth.SourceAddress() != g.link.mac || ip.HopLimit() != 255 ||
		ip.SourceAddress() != header.LinkLocalAddr(g.link.mac) || ip.DestinationAddress() != peerLL {
		t.Fatalf("RA addresses: eth %s->%s ip %s->%s hop %d", eth.SourceAddress(), eth.DestinationAddress(), ip.SourceAddress(), ip.DestinationAddress(), ip.HopLimit())
	}
	m := header.ICMPv6(ip.Payload())
	if m.Type() != header.ICMPv6RouterAdvert || m.Code() != 0 {
		t.Fatalf("RA type %d code %d", m.Type(), m.Code())
	}
	ra := m[header.ICMPv6HeaderSize:]
	if lt := binary.BigEndian.Uint16(ra[2:]); lt == 0 {
		t.Fatal("router lifetime 0: not a default router")
	}
	seen := map[byte]bool{}
	for o := ra[header.NDPRAMinimumSize:]; len(o) > 0; o = o[int(o[1])*8:] {
		if len(o) < 8 || o[1] == 0 || len(o) < int(o[1])*8 {
			t.Fatalf("bad option %x", o)
		}
		seen[o[0]] = true
		switch o[0] {
		case 1:
			if tcpip.LinkAddress(o[2:8]) != g.link.mac {
				t.Fatalf("source link-layer address %x", o[2:8])
			}
		case 3:
			p, _ := netip.AddrFromSlice(o[16:32])
			if o[2] != 64 || o[3]&0xc0 != 0xc0 || p != subnet6.Addr() || binary.BigEndian.Uint32(o[4:]) < binary.BigEndian.Uint32(o[8:]) {
				t.Fatalf("prefix information %x", o[:32])
			}
		case 5:
			if binary.BigEndian.Uint32(o[4:]) != 1500 {
				t.Fatalf("MTU option %x", o[:8])
			}
		case 25:
			d, _ := netip.AddrFromSlice(o[8:24])
			if d != dnsAddr6 || binary.BigEndian.Uint32(o[4:]) == 0 {
				t.Fatalf("RDNSS %x", o[:24])
			}
		}
	}
	if !seen[1] || !seen[3] || !seen[5] || !seen[25] {
		t.Fatalf("RA options %v", seen)
	}

	// Neighbour solicitations: one for the endpoint's own address (its
	// duplicate address detection) and one for another address of the
	// subnet get no answer; one for the gateway's address gets a neighbour
	// advertisement.
	ns := func(target netip.Addr, src tcpip.Address) []byte {
		tgt := tcpip.AddrFrom16(target.As16())
		body := append(make([]byte, 4), target.AsSlice()...)
		if src != (tcpip.Address{}) && !src.Unspecified() {
			body = append(body, 1, 1, 2, 0, 0, 0, 0, 2) // source link-layer address
		}
		snm := header.SolicitedNodeAddr(tgt)
		return icmp6Frame(header.EthernetAddressFromMulticastIPv6Address(snm), src, snm, header.ICMPv6NeighborSolicit, body)
	}
	writeFrame(g, ns(peerAddr6, tcpip.AddrFrom16([16]byte{})))
	writeFrame(g, ns(netip.MustParseAddr("fd00::9"), peerLL))
	writeFrame(g, ns(gwAddr6, peerLL))
	f = next(t, ch, 5*time.Second)
	if f == nil {
		t.Fatal("no neighbour advertisement for the gateway's address")
	}
	m = header.ICMPv6(header.IPv6(f[header.EthernetMinimumSize:]).Payload())
	if m.Type() != header.ICMPv6NeighborAdvert {
		t.Fatalf("got ICMPv6 type %d, want a neighbour advertisement", m.Type())
	}
	if tgt := header.NDPNeighborAdvert(m.MessageBody()).TargetAddress(); tgt != tcpip.AddrFrom16(gwAddr6.As16()) {
		t.Fatalf("neighbour advertisement for %s: the gateway claimed a foreign address", tgt)
	}

	// Echo to an outside address is dropped and counted, not answered.
	before := g.NAT().Stats().ICMPDropped
	echo := icmp6Frame(g.link.mac, tcpip.AddrFrom16(peerAddr6.As16()), tcpip.AddrFrom16(netip.MustParseAddr("2001:db8::1").As16()),
		header.ICMPv6EchoRequest, []byte{0, 1, 0, 1, 'x'})
	writeFrame(g, echo)
	if f := next(t, ch, 300*time.Millisecond); f != nil {
		t.Fatalf("echo to an outside address answered: %x", f)
	}
	if g.NAT().Stats().ICMPDropped != before+1 {
		t.Fatal("dropped echo not counted")
	}
}

func hostEcho6(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		nstest.Skipf(t, "no IPv6 loopback: %v", err)
	}
	return serveEcho(t, ln)
}

func TestIPv6DNSAndHostLoopback(t *testing.T) {
	srv := dns.New(dns.Config{Domain: "x", ResolveNames: true})
	defer srv.Close()
	srv.SetRecords([]dns.Record{{Name: "n", Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.9")}}})
	g := mustGateway(t, v6Config(Config{DNS: srv, NAT: nat.Config{AllowHostLoopback: true}}))
	p := newPeerWith(t, g, true)

	// DNS over UDP and TCP at [fd00::3]:53.
	q := new(mdns.Msg)
	q.SetQuestion("n.", mdns.TypeA)
	dst := full(netip.AddrPortFrom(dnsAddr6, 53))
	uc, err := gonet.DialUDP(p.s, nil, &dst, ipv6.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.SetDeadline(time.Now().Add(5 * time.Second))
	dc := &mdns.Conn{Conn: uc}
	dc.WriteMsg(q)
	if r, err := dc.ReadMsg(); err != nil || len(r.Answer) != 1 {
		t.Fatalf("DNS over UDP at [%s]:53: %v %v", dnsAddr6, r, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tc, err := gonet.DialContextTCP(ctx, p.s, dst, ipv6.ProtocolNumber)
	if err != nil {
		t.Fatalf("DNS over TCP: %v", err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	dc = &mdns.Conn{Conn: tc}
	dc.WriteMsg(q)
	if r, err := dc.ReadMsg(); err != nil || len(r.Answer) != 1 {
		t.Fatalf("DNS over TCP at [%s]:53: %v %v", dnsAddr6, r, err)
	}

	// [fd00::2]:port reaches the host's [::1]:port.
	host := hostEcho6(t)
	c, err := gonet.DialContextTCP(ctx, p.s, full(netip.AddrPortFrom(gwAddr6, host.Port())), ipv6.ProtocolNumber)
	if err != nil {
		t.Fatalf("dial the gateway's IPv6 host-loopback port: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	go func() { c.Write(data); c.CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != string(data) {
		t.Fatalf("echo through NAT over IPv6: %d bytes (%v), want %d identical", len(got), err, len(data))
	}
	if fl := g.NAT().Flows(); len(fl) > 0 && !strings.HasPrefix(fl[0].Target, "[::1]:") {
		t.Fatalf("flow target %v", fl[0].Target)
	}

	// Other addresses of the gateway's own subnet are never dialed.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if c2, err := gonet.DialContextTCP(ctx2, p.s, full(netip.AddrPortFrom(netip.MustParseAddr("fd00::9"), host.Port())), ipv6.ProtocolNumber); err == nil {
		c2.Close()
		t.Fatal("connection to another address of the subnet accepted")
	}
}

func TestIPv6OffByDefault(t *testing.T) {
	g := mustGateway(t, Config{})
	ch := frames(t, g)
	allRouters := tcpip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 2})
	writeFrame(g, icmp6Frame(header.EthernetAddressFromMulticastIPv6Address(allRouters), peerLL, allRouters, header.ICMPv6RouterSolicit, make([]byte, 4)))
	if f := next(t, ch, 300*time.Millisecond); f != nil {
		t.Fatalf("IPv6 off, yet the gateway answered: %x", f)
	}
}

func TestIPv6UnreachableHostLoopback(t *testing.T) {
	g := mustGateway(t, v6Config(Config{UnreachableHostLoopback: true}))
	p := newPeerWith(t, g, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := gonet.DialContextTCP(ctx, p.s, full(netip.AddrPortFrom(gwAddr6, 8080)), ipv6.ProtocolNumber)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("dial IPv6 host loopback when disabled: %v, want network unreachable", err)
	}
}
