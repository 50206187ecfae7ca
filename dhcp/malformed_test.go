package dhcp

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Offsets into a client frame with a 20-byte IPv4 header.
const (
	offIP      = 14
	offUDP     = offIP + 20
	offPayload = offUDP + 8
)

func TestMalformedAndForeignFrames(t *testing.T) {
	h := newHarness(t, testSubnet, nil)
	disc, err := dhcpv4.NewDiscovery(mac(1))
	if err != nil {
		t.Fatal(err)
	}
	good := clientFrame(t, disc, zeroIP, bcastIP, nil, 68, 67)
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	// fixIP recomputes the IPv4 header checksum after an edit.
	fixIP := func(b []byte) []byte {
		b[offIP+10], b[offIP+11] = 0, 0
		binary.BigEndian.PutUint16(b[offIP+10:], checksum(b[offIP:offUDP], 0))
		return b
	}
	withMsg := func(mods ...dhcpv4.Modifier) []byte {
		m, err := dhcpv4.NewDiscovery(mac(1), mods...)
		if err != nil {
			t.Fatal(err)
		}
		return clientFrame(t, m, zeroIP, bcastIP, nil, 68, 67)
	}
	cases := []struct {
		name      string
		frame     []byte
		malformed bool
	}{
		{"empty", nil, true},
		{"runt", good[:10], true},
		{"Ethernet header only", good[:offIP], true},
		{"truncated IPv4 header", good[:offIP+12], true},
		{"IP version 6", edit(func(b []byte) []byte { b[offIP] = 0x65; return fixIP(b) }), true},
		{"IHL 4", edit(func(b []byte) []byte { b[offIP] = 0x44; return fixIP(b) }), true},
		{"total length past the frame", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[offIP+2:], uint16(len(b)))
			return fixIP(b)
		}), true},
		{"bad IPv4 checksum", edit(func(b []byte) []byte { b[offIP+10] ^= 0xff; return b }), true},
		{"truncated UDP header", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[offIP+2:], 24)
			return fixIP(b)
		}), true},
		{"UDP length past the packet", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[offUDP+4:], uint16(len(b)))
			return b
		}), true},
		{"UDP length below header", edit(func(b []byte) []byte { b[offUDP+4], b[offUDP+5] = 0, 4; return b }), true},
		{"truncated BOOTP", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[offUDP+4:], 8+100)
			return b
		}), true},
		{"bad magic cookie", edit(func(b []byte) []byte { b[offPayload+236] = 0; return b }), true},
		{"BOOTREPLY", edit(func(b []byte) []byte { b[offPayload] = 2; return b }), true},
		{"hardware type 6", edit(func(b []byte) []byte { b[offPayload+1] = 6; return b }), true},
		{"hardware length 16", edit(func(b []byte) []byte { b[offPayload+2] = 16; return b }), true},
		{"broadcast chaddr", edit(func(b []byte) []byte {
			copy(b[offPayload+28:], broadcastMAC)
			return b
		}), true},
		{"zero chaddr", edit(func(b []byte) []byte { clear(b[offPayload+28 : offPayload+34]); return b }), true},
		{"no message type", withMsg(dhcpv4.WithoutOption(dhcpv4.OptionDHCPMessageType)), true},
		{"no end option", edit(func(b []byte) []byte {
			for i := offPayload + 240; i < len(b); i++ {
				if b[i] == 255 {
					b[i] = 0
				}
			}
			return b
		}), true},
		{"request without an address", withMsg(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest)), true},
		{"short requested address", withMsg(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithGeneric(dhcpv4.OptionRequestedIPAddress, []byte{10, 88, 0})), true},

		{"ARP", edit(func(b []byte) []byte { b[12], b[13] = 0x08, 0x06; return b }), false},
		{"VLAN tagged", edit(func(b []byte) []byte { b[12], b[13] = 0x81, 0x00; return b }), false},
		{"TCP", edit(func(b []byte) []byte { b[offIP+9] = 6; return fixIP(b) }), false},
		{"fragment", edit(func(b []byte) []byte { b[offIP+6] = 0x20; return fixIP(b) }), false},
		{"to another MAC", edit(func(b []byte) []byte { copy(b, mac(9)); return b }), false},
		{"to another host", clientFrame(t, disc, zeroIP, addr("10.88.0.77"), nil, 68, 67), false},
		{"to port 53", clientFrame(t, disc, zeroIP, bcastIP, nil, 68, 53), false},
		{"from a relay port", clientFrame(t, disc, zeroIP, bcastIP, nil, 67, 67), false},
		{"relayed", withMsg(dhcpv4.WithGatewayIP(addr("10.1.0.1").AsSlice())), false},
		{"offer from a client", withMsg(dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer)), false},
	}
	for _, tc := range cases {
		before := h.srv.Stats().Malformed
		out, ok := h.srv.Handle(tc.frame)
		if ok || out != nil {
			t.Errorf("%s: answered", tc.name)
		}
		if counted := h.srv.Stats().Malformed != before; counted != tc.malformed {
			t.Errorf("%s: counted as malformed %v, want %v", tc.name, counted, tc.malformed)
		}
	}
	if len(h.srv.Leases()) != 0 || h.pool.InUse(addr("10.88.0.2")) {
		t.Fatal("a dropped frame took an address")
	}
	// Ethernet padding after the IP packet is fine; so is the subnet
	// broadcast as destination.
	padded := append(append([]byte(nil), good...), make([]byte, 30)...)
	if _, ok := h.srv.Handle(padded); !ok {
		t.Fatal("padded frame not answered")
	}
	if _, ok := h.srv.Handle(clientFrame(t, disc, zeroIP, addr("10.88.0.255"), nil, 68, 67)); !ok {
		t.Fatal("subnet-broadcast DISCOVER not answered")
	}
}

// FuzzHandle feeds arbitrary frames to a server: it must never panic, and
// whatever it answers must be a well-formed reply.
func FuzzHandle(f *testing.F) {
	h := newHarness(f, testSubnet, nil)
	disc, _ := dhcpv4.NewDiscovery(mac(1), dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 2, 3})))
	f.Add(clientFrame(f, disc, zeroIP, bcastIP, nil, 68, 67))
	offer := h.broadcast(disc)
	req, _ := dhcpv4.NewRequestFromOffer(offer.msg)
	f.Add(clientFrame(f, req, zeroIP, bcastIP, nil, 68, 67))
	ack := h.broadcast(req)
	renew, _ := dhcpv4.NewRenewFromAck(ack.msg)
	f.Add(clientFrame(f, renew, yiaddr(ack), testGateway, testServerMAC, 68, 67))
	rel, _ := dhcpv4.NewReleaseFromACK(ack.msg)
	f.Add(clientFrame(f, rel, yiaddr(ack), testGateway, testServerMAC, 68, 67))
	dec, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(5)), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(addr("10.88.0.2").AsSlice())))
	f.Add(clientFrame(f, dec, zeroIP, bcastIP, nil, 68, 67))
	inf, _ := dhcpv4.NewInform(mac(0x50), addr("10.88.0.50").AsSlice())
	f.Add(clientFrame(f, inf, addr("10.88.0.50"), testGateway, testServerMAC, 68, 67))
	f.Add([]byte{})
	f.Add(disc.ToBytes())
	f.Add(req.ToBytes())
	f.Add(dec.ToBytes())

	f.Fuzz(func(t *testing.T, frame []byte) {
		h := newHarness(t, testSubnet, func(c *Config) { c.MaxLeases = 4 })
		h.attach(mac(0x50), addr("10.88.0.50"))
		// The input as a whole frame, then as a BOOTP message behind valid
		// headers so mutations reach the DHCP logic past the checksums.
		wrapped := wrap(t, mac(1), broadcastMAC, zeroIP, bcastIP, 68, 67, frame)
		for _, in := range [][]byte{frame, wrapped, wrapped} {
			out, ok := h.srv.Handle(in)
			if ok {
				decodeReply(t, out)
			} else if out != nil {
				t.Fatal("bytes returned with ok=false")
			}
			h.clock.Advance(31 * time.Second)
			h.srv.Expire()
		}
		seen := map[string]bool{}
		for _, l := range h.srv.Leases() {
			if seen[l.IP.String()] || !h.pool.InUse(l.IP) {
				t.Fatalf("lease %+v shared or not held in the pool", l)
			}
			seen[l.IP.String()] = true
		}
	})
}
