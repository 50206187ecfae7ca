package dhcp

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/switchyard/switchyard/ipam"
)

// ipam.Pool is what the daemon passes to New.
var _ Pool = (*ipam.Pool)(nil)

var (
	testSubnet    = netip.MustParsePrefix("10.88.0.0/24")
	testGateway   = netip.MustParseAddr("10.88.0.1")
	testServerMAC = net.HardwareAddr{0x02, 0x42, 0x0a, 0x58, 0x00, 0x01}
	zeroIP        = netip.IPv4Unspecified()
	bcastIP       = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a server on a real ipam pool with a fake clock and a table
// of fixed addresses.
type harness struct {
	t      testing.TB
	srv    *Server
	pool   *ipam.Pool
	clock  *fakeClock
	mu     sync.Mutex
	static map[string]netip.Addr
}

func newHarness(t testing.TB, subnet netip.Prefix, mod func(*Config)) *harness {
	t.Helper()
	gw := subnet.Addr().Next()
	pool, err := ipam.New(subnet, gw)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, pool: pool, static: map[string]netip.Addr{},
		clock: &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	cfg := Config{ServerIP: gw, ServerMAC: testServerMAC, Subnet: subnet, Router: gw, Now: h.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	h.srv, err = New(cfg, pool, h.lookupStatic)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) lookupStatic(mac net.HardwareAddr) (netip.Addr, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.static[mac.String()]
	return a, ok
}

// attach gives mac a fixed address the way `attach --ip` does.
func (h *harness) attach(mac net.HardwareAddr, a netip.Addr) {
	h.t.Helper()
	if err := h.pool.Reserve(a); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.static[mac.String()] = a
	h.mu.Unlock()
}

// reply is a decoded reply frame.
type reply struct {
	eth *layers.Ethernet
	ip  *layers.IPv4
	udp *layers.UDP
	msg *dhcpv4.DHCPv4
}

// broadcast sends msg from 0.0.0.0 to 255.255.255.255 and returns the
// reply, nil when there is none.
func (h *harness) broadcast(msg *dhcpv4.DHCPv4) *reply {
	h.t.Helper()
	return h.send(msg, zeroIP, bcastIP, nil)
}

// unicast sends msg from src to the server's IP and MAC.
func (h *harness) unicast(msg *dhcpv4.DHCPv4, src netip.Addr) *reply {
	h.t.Helper()
	return h.send(msg, src, h.srv.cfg.ServerIP, testServerMAC)
}

func (h *harness) send(msg *dhcpv4.DHCPv4, src, dst netip.Addr, dstMAC net.HardwareAddr) *reply {
	h.t.Helper()
	out, ok := h.srv.Handle(clientFrame(h.t, msg, src, dst, dstMAC, 68, 67))
	if !ok {
		if out != nil {
			h.t.Fatalf("Handle returned %d bytes with ok=false", len(out))
		}
		return nil
	}
	return decodeReply(h.t, out)
}

// dora runs DISCOVER, OFFER, REQUEST, ACK for mac and returns the ACK.
func (h *harness) dora(mac net.HardwareAddr) *reply {
	h.t.Helper()
	disc, err := dhcpv4.NewDiscovery(mac)
	if err != nil {
		h.t.Fatal(err)
	}
	offer := h.broadcast(disc)
	if offer == nil || offer.msg.MessageType() != dhcpv4.MessageTypeOffer {
		h.t.Fatalf("%s: no offer: %+v", mac, offer)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer.msg)
	if err != nil {
		h.t.Fatal(err)
	}
	ack := h.broadcast(req)
	if ack == nil || ack.msg.MessageType() != dhcpv4.MessageTypeAck {
		h.t.Fatalf("%s: no ack: %+v", mac, ack)
	}
	return ack
}

// clientFrame wraps msg in Ethernet/IPv4/UDP as a client would send it; a
// nil dstMAC means broadcast.
func clientFrame(t testing.TB, msg *dhcpv4.DHCPv4, src, dst netip.Addr, dstMAC net.HardwareAddr, sport, dport uint16) []byte {
	t.Helper()
	if dstMAC == nil {
		dstMAC = broadcastMAC
	}
	return wrap(t, msg.ClientHWAddr, dstMAC, src, dst, sport, dport, msg.ToBytes())
}

func wrap(t testing.TB, srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeReply decodes a reply frame with gopacket, checks its fixed
// addressing and both checksums, and parses the DHCP message.
func decodeReply(t testing.TB, frame []byte) *reply {
	t.Helper()
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if e := pkt.ErrorLayer(); e != nil {
		t.Fatalf("reply does not decode: %v", e.Error())
	}
	r := &reply{}
	var ok1, ok2, ok3 bool
	r.eth, ok1 = pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	r.ip, ok2 = pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	r.udp, ok3 = pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok1 || !ok2 || !ok3 || pkt.Layer(layers.LayerTypeDHCPv4) == nil {
		t.Fatalf("reply lacks a layer: %v", pkt)
	}
	if r.eth.SrcMAC.String() != testServerMAC.String() || r.udp.SrcPort != 67 || r.udp.DstPort != 68 {
		t.Fatalf("reply from %s port %d to port %d", r.eth.SrcMAC, r.udp.SrcPort, r.udp.DstPort)
	}
	if int(r.ip.Length) != len(frame)-14 || int(r.udp.Length) != len(frame)-34 {
		t.Fatalf("lengths: IP %d, UDP %d, frame %d", r.ip.Length, r.udp.Length, len(frame))
	}
	checkChecksums(t, r.ip, r.udp)
	var err error
	if r.msg, err = dhcpv4.FromBytes(r.udp.Payload); err != nil {
		t.Fatalf("reply payload: %v", err)
	}
	if r.msg.OpCode != dhcpv4.OpcodeBootReply {
		t.Fatalf("reply op %v", r.msg.OpCode)
	}
	return r
}

// checkChecksums recomputes both checksums with gopacket and compares.
func checkChecksums(t testing.TB, ip *layers.IPv4, udp *layers.UDP) {
	t.Helper()
	gotIP, gotUDP := ip.Checksum, udp.Checksum
	ip2, udp2 := *ip, *udp
	if err := udp2.SetNetworkLayerForChecksum(&ip2); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, &ip2, &udp2, gopacket.Payload(udp.Payload)); err != nil {
		t.Fatal(err)
	}
	if udp2.Checksum == 0 {
		udp2.Checksum = 0xffff
	}
	if gotIP != ip2.Checksum || gotUDP != udp2.Checksum {
		t.Fatalf("checksums IP %#04x UDP %#04x, want %#04x %#04x", gotIP, gotUDP, ip2.Checksum, udp2.Checksum)
	}
}

func mac(n byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, n} }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func yiaddr(r *reply) netip.Addr { return ip4(r.msg.YourIPAddr) }
