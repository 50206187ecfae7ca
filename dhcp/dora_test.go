package dhcp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestDORA(t *testing.T) {
	h := newHarness(t, testSubnet, func(c *Config) {
		c.DNS = []netip.Addr{addr("10.88.0.1"), addr("1.1.1.1")}
		c.Domain = "net.test"
		c.MTU = 1450
	})
	client := mac(1)
	disc, err := dhcpv4.NewDiscovery(client)
	if err != nil {
		t.Fatal(err)
	}
	offer := h.broadcast(disc)
	if offer == nil {
		t.Fatal("no offer")
	}
	want := addr("10.88.0.2")
	checkReply(t, offer, disc, dhcpv4.MessageTypeOffer, want)
	// No broadcast flag, no ciaddr: unicast to yiaddr at chaddr.
	checkDest(t, offer, client, want)
	checkOptions(t, h, offer, true)

	req, err := dhcpv4.NewRequestFromOffer(offer.msg)
	if err != nil {
		t.Fatal(err)
	}
	ack := h.broadcast(req)
	if ack == nil {
		t.Fatal("no ack")
	}
	checkReply(t, ack, req, dhcpv4.MessageTypeAck, want)
	checkDest(t, ack, client, want)
	checkOptions(t, h, ack, true)

	leases := h.srv.Leases()
	if len(leases) != 1 || leases[0].IP != want || leases[0].MAC.String() != client.String() ||
		leases[0].Static || !leases[0].Expires.Equal(h.clock.Now().Add(time.Hour)) {
		t.Fatalf("leases %+v", leases)
	}
	if !h.pool.InUse(want) {
		t.Fatal("leased address is free in the pool")
	}
	st := h.srv.Stats()
	if st.Discovers != 1 || st.Offers != 1 || st.Requests != 1 || st.Acks != 1 || st.Naks != 0 || st.Malformed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBroadcastFlagAndClientID(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	cid := []byte{1, 2, 0, 0, 0, 0, 7}
	disc, err := dhcpv4.NewDiscovery(mac(7), dhcpv4.WithBroadcast(true),
		dhcpv4.WithOption(dhcpv4.OptClientIdentifier(cid)))
	if err != nil {
		t.Fatal(err)
	}
	offer := h.broadcast(disc)
	if offer == nil {
		t.Fatal("no offer")
	}
	checkDest(t, offer, broadcastMAC, bcastIP)
	if got := offer.msg.Options.Get(dhcpv4.OptionClientIdentifier); string(got) != string(cid) {
		t.Fatalf("client identifier echoed as %x", got)
	}
}

func TestRenewUnicastAndRebind(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	client := mac(1)
	ack := h.dora(client)
	ip := yiaddr(ack)

	h.clock.Advance(40 * time.Minute)
	renew, err := dhcpv4.NewRenewFromAck(ack.msg)
	if err != nil {
		t.Fatal(err)
	}
	r := h.unicast(renew, ip)
	if r == nil {
		t.Fatal("no reply to renewal")
	}
	checkReply(t, r, renew, dhcpv4.MessageTypeAck, ip)
	checkDest(t, r, client, ip) // ciaddr set: unicast to ciaddr
	if ci := ip4(r.msg.ClientIPAddr); ci != ip {
		t.Fatalf("ACK ciaddr %s, want %s", ci, ip)
	}

	h.clock.Advance(40 * time.Minute) // past the first lease's end
	h.srv.Expire()
	if l := h.srv.Leases(); len(l) != 1 || l[0].IP != ip {
		t.Fatalf("renewed lease expired: %+v", l)
	}

	// Rebinding: broadcast, ciaddr set, no server identifier.
	rebind, _ := dhcpv4.NewRenewFromAck(ack.msg, dhcpv4.WithTransactionID(dhcpv4.TransactionID{9, 9, 9, 9}))
	if r = h.send(rebind, ip, bcastIP, nil); r == nil || yiaddr(r) != ip {
		t.Fatalf("rebinding got %+v", r)
	}
	// A bound client rediscovering is offered its address again.
	disc, _ := dhcpv4.NewDiscovery(client)
	if r = h.broadcast(disc); r == nil || yiaddr(r) != ip {
		t.Fatalf("rediscover got %+v", r)
	}
}

func TestInform(t *testing.T) {
	h := newHarness(t, testSubnet, func(c *Config) { c.DNS = []netip.Addr{addr("9.9.9.9")} })
	client, own := mac(3), addr("10.88.0.77")
	inf, err := dhcpv4.NewInform(client, own.AsSlice())
	if err != nil {
		t.Fatal(err)
	}
	r := h.unicast(inf, own)
	if r == nil {
		t.Fatal("no reply to INFORM")
	}
	checkReply(t, r, inf, dhcpv4.MessageTypeAck, zeroIP)
	checkDest(t, r, client, own)
	checkOptions(t, h, r, false)
	if len(h.srv.Leases()) != 0 || h.pool.InUse(own) {
		t.Fatal("INFORM created a lease")
	}
	if st := h.srv.Stats(); st.Informs != 1 || st.Acks != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStaticMAC(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	fixed, fixedIP := mac(0x50), addr("10.88.0.50")
	h.attach(fixed, fixedIP)
	other := mac(2)
	if got := yiaddr(h.dora(fixed)); got != fixedIP {
		t.Fatalf("static MAC got %s, want %s", got, fixedIP)
	}
	if got := yiaddr(h.dora(other)); got != addr("10.88.0.2") {
		t.Fatalf("dynamic MAC got %s", got)
	}
	leases := h.srv.Leases()
	if len(leases) != 2 || leases[1].IP != fixedIP || !leases[1].Static || leases[0].Static {
		t.Fatalf("leases %+v", leases)
	}

	// Asking for another address is refused.
	req, _ := dhcpv4.New(dhcpv4.WithHwAddr(fixed), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr("10.88.0.3").AsSlice())))
	if r := h.broadcast(req); r == nil || r.msg.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("request for another address: %+v", r)
	}
	// Neither RELEASE nor expiry gives the fixed address to the pool.
	rel, _ := dhcpv4.New(dhcpv4.WithHwAddr(fixed), dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease),
		dhcpv4.WithClientIP(fixedIP.AsSlice()))
	if r := h.unicast(rel, fixedIP); r != nil {
		t.Fatal("reply to RELEASE")
	}
	h.clock.Advance(2 * time.Hour)
	h.srv.Expire()
	if !h.pool.InUse(fixedIP) {
		t.Fatal("fixed address went back to the pool")
	}
	for i := byte(3); i < 8; i++ {
		if got := yiaddr(h.dora(mac(i))); got == fixedIP {
			t.Fatalf("fixed address leased to %s", mac(i))
		}
	}
	// The endpoint is replaced by another one with the same fixed address.
	h.mu.Lock()
	delete(h.static, fixed.String())
	h.static[mac(0x51).String()] = fixedIP
	h.mu.Unlock()
	if got := yiaddr(h.dora(fixed)); got == fixedIP {
		t.Fatal("detached MAC still gets the fixed address")
	}
	if got := yiaddr(h.dora(mac(0x51))); got != fixedIP {
		t.Fatalf("new endpoint got %s, want %s", got, fixedIP)
	}
}

// checkReply checks the BOOTP header of a reply to req.
func checkReply(t *testing.T, r *reply, req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, yi netip.Addr) {
	t.Helper()
	m := r.msg
	if m.MessageType() != typ || m.TransactionID != req.TransactionID ||
		m.ClientHWAddr.String() != req.ClientHWAddr.String() || yiaddr(r) != yi {
		t.Fatalf("got %s %s xid %s chaddr %s yiaddr %s; want %s %s %s %s",
			m.OpCode, m.MessageType(), m.TransactionID, m.ClientHWAddr, yiaddr(r),
			typ, req.TransactionID, req.ClientHWAddr, yi)
	}
	if sid := m.ServerIdentifier(); !sid.Equal(testGateway.AsSlice()) {
		t.Fatalf("server identifier %s", sid)
	}
	if src := r.ip.SrcIP.String(); src != testGateway.String() {
		t.Fatalf("reply from %s", src)
	}
}

// checkDest checks the reply's link and IP destination.
func checkDest(t *testing.T, r *reply, dstMAC net.HardwareAddr, dstIP netip.Addr) {
	t.Helper()
	if r.eth.DstMAC.String() != dstMAC.String() || r.ip.DstIP.String() != dstIP.String() {
		t.Fatalf("reply to %s %s, want %s %s", r.eth.DstMAC, r.ip.DstIP, dstMAC, dstIP)
	}
}

// checkOptions checks the configuration options of an OFFER or ACK.
func checkOptions(t *testing.T, h *harness, r *reply, lease bool) {
	t.Helper()
	m, cfg := r.msg, h.srv.cfg
	if got := m.SubnetMask().String(); got != "ffffff00" {
		t.Fatalf("subnet mask %s", got)
	}
	if got := m.BroadcastAddress().String(); got != "10.88.0.255" {
		t.Fatalf("broadcast address %s", got)
	}
	if got := m.Router(); len(got) != 1 || !got[0].Equal(testGateway.AsSlice()) {
		t.Fatalf("router %v", got)
	}
	if got := m.DNS(); len(got) != len(cfg.DNS) || (len(got) > 0 && got[0].String() != cfg.DNS[0].String()) {
		t.Fatalf("DNS %v, want %v", got, cfg.DNS)
	}
	if got := m.DomainName(); got != cfg.Domain {
		t.Fatalf("domain %q, want %q", got, cfg.Domain)
	}
	if mtu := m.Options.Get(dhcpv4.OptionInterfaceMTU); cfg.MTU != 0 &&
		(len(mtu) != 2 || int(binary.BigEndian.Uint16(mtu)) != cfg.MTU) {
		t.Fatalf("MTU option %x, want %d", mtu, cfg.MTU)
	}
	hasLease := m.Options.Has(dhcpv4.OptionIPAddressLeaseTime)
	if hasLease != lease {
		t.Fatalf("lease time present %v, want %v", hasLease, lease)
	}
	if lease {
		lt, t1, t2 := m.IPAddressLeaseTime(0), m.IPAddressRenewalTime(0), m.IPAddressRebindingTime(0)
		if lt != time.Hour || t1 != 30*time.Minute || t2 != 52*time.Minute+30*time.Second {
			t.Fatalf("lease %s T1 %s T2 %s", lt, t1, t2)
		}
	}
}

func TestDetachedFixedAddressIsReused(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	fixed, fixedIP := mac(0x50), addr("10.88.0.2")
	h.attach(fixed, fixedIP)
	h.dora(fixed)
	// Detach: the endpoint's address goes back to the pool.
	h.mu.Lock()
	delete(h.static, fixed.String())
	h.mu.Unlock()
	h.pool.Release(fixedIP)

	if got := yiaddr(h.dora(mac(1))); got != fixedIP {
		t.Fatalf("next client got %s, want the released %s", got, fixedIP)
	}
	if l := h.srv.Leases(); len(l) != 1 || l[0].MAC.String() != mac(1).String() || l[0].Static {
		t.Fatalf("leases %+v", l)
	}
}
