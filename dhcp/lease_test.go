package dhcp

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestMACsNeverShareAnAddress(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	const workers, each = 4, 25
	var wg sync.WaitGroup
	got := make([][]netip.Addr, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				got[w] = append(got[w], yiaddr(h.dora(net.HardwareAddr{0x02, 0, 0, 1, byte(w), byte(i)})))
			}
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for _, list := range got {
		for _, a := range list {
			if seen[a] || !h.pool.InUse(a) || a == testGateway {
				t.Fatalf("address %s handed out twice, or not taken from the pool", a)
			}
			seen[a] = true
		}
	}
	// The pool hands out the lowest addresses: .2 to .101.
	for i := 2; i < 2+workers*each; i++ {
		if a := netip.AddrFrom4([4]byte{10, 88, 0, byte(i)}); !seen[a] {
			t.Fatalf("%s not leased", a)
		}
	}
	if n := len(h.srv.Leases()); n != workers*each {
		t.Fatalf("%d leases", n)
	}
}

func TestReleaseReturnsLowest(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	ackA := h.dora(mac(1))
	if got := yiaddr(h.dora(mac(2))); got != addr("10.88.0.3") {
		t.Fatalf("second client got %s", got)
	}
	rel, err := dhcpv4.NewReleaseFromACK(ackA.msg)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.unicast(rel, yiaddr(ackA)); r != nil {
		t.Fatal("reply to RELEASE")
	}
	if h.pool.InUse(addr("10.88.0.2")) {
		t.Fatal("released address still taken")
	}
	if got := yiaddr(h.dora(mac(3))); got != addr("10.88.0.2") {
		t.Fatalf("next client got %s, want the lowest free 10.88.0.2", got)
	}
	if st := h.srv.Stats(); st.Releases != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExpiry(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	ip := yiaddr(h.dora(mac(1)))
	h.clock.Advance(59 * time.Minute)
	h.srv.Expire()
	if len(h.srv.Leases()) != 1 {
		t.Fatal("lease expired early")
	}
	h.clock.Advance(time.Minute)
	h.srv.Expire()
	if len(h.srv.Leases()) != 0 || h.pool.InUse(ip) {
		t.Fatal("lease outlived its time")
	}

	// An offer nobody requests is withdrawn after OfferTimeout.
	disc, _ := dhcpv4.NewDiscovery(mac(2))
	offered := yiaddr(h.broadcast(disc))
	if !h.pool.InUse(offered) {
		t.Fatal("offered address not held")
	}
	if r := h.broadcast(disc); yiaddr(r) != offered {
		t.Fatalf("re-offer got %s, want %s", yiaddr(r), offered)
	}
	h.clock.Advance(OfferTimeout)
	h.srv.Expire()
	if h.pool.InUse(offered) {
		t.Fatal("stale offer still holds its address")
	}
}

func TestExhaustedPoolReclaimsExpiredLeases(t *testing.T) {
	// 10.90.0.0/29: .1 is the gateway, .2 to .6 are free.
	h := newHarness(t, netip.MustParsePrefix("10.90.0.0/29"), nil)
	for i := byte(1); i <= 5; i++ {
		h.dora(mac(i))
	}
	disc, _ := dhcpv4.NewDiscovery(mac(6))
	if r := h.broadcast(disc); r != nil {
		t.Fatalf("offer from an exhausted pool: %s", yiaddr(r))
	}
	if st := h.srv.Stats(); st.PoolExhausted != 1 || st.Offers != 5 || st.Discovers != 6 {
		t.Fatalf("stats %+v", st)
	}
	// Expired leases are reclaimed when an address is needed, Expire or not.
	h.clock.Advance(time.Hour)
	if r := h.broadcast(disc); r == nil || yiaddr(r) != addr("10.90.0.2") {
		t.Fatalf("after expiry got %+v", r)
	}
}

func TestMaxLeases(t *testing.T) {
	h := newHarness(t, testSubnet, func(c *Config) { c.MaxLeases = 2 })
	h.dora(mac(1))
	h.dora(mac(2))
	disc, _ := dhcpv4.NewDiscovery(mac(3))
	if r := h.broadcast(disc); r != nil {
		t.Fatal("offer past MaxLeases")
	}
	if st := h.srv.Stats(); st.PoolExhausted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRequestForTakenAddress(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	taken := yiaddr(h.dora(mac(1)))
	initReboot := func(m net.HardwareAddr, a netip.Addr, mods ...dhcpv4.Modifier) *reply {
		t.Helper()
		mods = append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(m), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(a.AsSlice()))}, mods...)
		req, err := dhcpv4.New(mods...)
		if err != nil {
			t.Fatal(err)
		}
		return h.broadcast(req)
	}
	sid := dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testGateway.AsSlice()))
	for _, tc := range []struct {
		ip   netip.Addr
		mods []dhcpv4.Modifier
	}{
		{taken, nil},                    // init-reboot
		{taken, []dhcpv4.Modifier{sid}}, // selecting
		{testGateway, nil},              // the gateway
		{addr("10.88.0.255"), nil},      // broadcast
		{addr("10.88.0.0"), nil},        // network
		{addr("192.168.7.20"), nil},     // another network
	} {
		r := initReboot(mac(2), tc.ip, tc.mods...)
		if r == nil || r.msg.MessageType() != dhcpv4.MessageTypeNak {
			t.Fatalf("request for %s: %+v", tc.ip, r)
		}
		checkDest(t, r, broadcastMAC, bcastIP) // NAKs are broadcast
		if !ip4(r.msg.YourIPAddr).IsUnspecified() || r.msg.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || r.msg.Message() == "" {
			t.Fatalf("NAK carries %s", r.msg.Summary())
		}
	}
	if h.srv.Stats().Naks != 6 {
		t.Fatalf("stats %+v", h.srv.Stats())
	}
	// A free address is granted without a prior offer.
	if r := initReboot(mac(2), addr("10.88.0.9")); r == nil || yiaddr(r) != addr("10.88.0.9") {
		t.Fatalf("request for a free address: %+v", r)
	}
	if !h.pool.InUse(addr("10.88.0.9")) {
		t.Fatal("granted address not taken from the pool")
	}
	// Moving to another free address gives the old one back.
	if r := initReboot(mac(2), addr("10.88.0.10")); r == nil || yiaddr(r) != addr("10.88.0.10") {
		t.Fatalf("move: %+v", r)
	}
	if h.pool.InUse(addr("10.88.0.9")) {
		t.Fatal("old address kept after the move")
	}
}

func TestSelectingAnotherServer(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	disc, _ := dhcpv4.NewDiscovery(mac(1))
	offer := h.broadcast(disc)
	req, _ := dhcpv4.NewRequestFromOffer(offer.msg,
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP{10, 88, 0, 254})))
	if r := h.broadcast(req); r != nil {
		t.Fatal("answered a request for another server")
	}
	if h.pool.InUse(yiaddr(offer)) || len(h.srv.Leases()) != 0 {
		t.Fatal("offer not withdrawn")
	}
}

func TestDecline(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	ip := yiaddr(h.dora(mac(1)))
	dec, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(1)), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(testGateway.AsSlice())))
	if r := h.broadcast(dec); r != nil {
		t.Fatal("reply to DECLINE")
	}
	if len(h.srv.Leases()) != 0 || !h.pool.InUse(ip) {
		t.Fatal("declined address should be held, without a lease")
	}
	if got := yiaddr(h.dora(mac(2))); got == ip {
		t.Fatal("declined address handed out again")
	}
	h.clock.Advance(DeclineHold)
	h.srv.Expire()
	if h.pool.InUse(ip) {
		t.Fatal("declined address never comes back")
	}
	if st := h.srv.Stats(); st.Declines != 1 {
		t.Fatalf("stats %+v", st)
	}
}
