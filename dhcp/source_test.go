package dhcp

import (
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestMaxPerSource checks that one source MAC (one port under port
// security) cycling through client hardware addresses gets at most
// MaxPerSource dynamic leases, by DISCOVER and by INIT-REBOOT REQUEST,
// while other ports and a client renewing keep being served.
func TestMaxPerSource(t *testing.T) {
	h := newHarness(t, testSubnet, func(c *Config) { c.MaxPerSource = 3 })
	port := mac(0x50)
	fromPort := func(msg *dhcpv4.DHCPv4) *reply {
		out, ok := h.srv.Handle(wrap(t, port, broadcastMAC, zeroIP, bcastIP, 68, 67, msg.ToBytes()))
		if !ok {
			return nil
		}
		return decodeReply(t, out)
	}
	var got []*reply
	for i := range 10 {
		disc, _ := dhcpv4.NewDiscovery(mac(byte(0x60 + i)))
		if r := fromPort(disc); r != nil {
			got = append(got, r)
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d offers to one source, want 3", len(got))
	}
	req, _ := dhcpv4.NewRequestFromOffer(got[0].msg)
	if r := fromPort(req); r == nil || r.msg.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("a client holding an offer was not ACKed: %+v", r)
	}
	reboot, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(0x70)), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr("10.88.0.200").AsSlice())))
	if r := fromPort(reboot); r == nil || r.msg.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("INIT-REBOOT past the cap: %+v, want NAK", r)
	}
	st := h.srv.Stats()
	if st.SourceCapped != 8 || st.PoolExhausted != 8 {
		t.Fatalf("stats %+v: want 8 refusals counted as source-capped", st)
	}
	// Another source is served; a released lease frees a slot.
	h.dora(mac(0x30))
	rel, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(0x60)), dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease),
		dhcpv4.WithClientIP(yiaddr(got[0]).AsSlice()))
	fromPort(rel)
	disc, _ := dhcpv4.NewDiscovery(mac(0x71))
	if fromPort(disc) == nil {
		t.Fatal("no offer after a release freed a slot")
	}
}

func TestMaxPerSourceConfig(t *testing.T) {
	c := Config{ServerIP: addr("10.88.0.1"), ServerMAC: testServerMAC, Subnet: testSubnet, MaxPerSource: -1}
	if err := c.setDefaults(); err == nil {
		t.Fatal("negative MaxPerSource accepted")
	}
}
