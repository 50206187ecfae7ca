package vswitch

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/port"
)

// arpFrame builds an ARP packet from src claiming sender sha/spa.
func arpFrame(src, sha []byte, spa string, op uint16) []byte {
	b := make([]byte, 60)
	copy(b, bcast)
	copy(b[6:], src)
	binary.BigEndian.PutUint16(b[12:], etherARP)
	p := b[14:]
	binary.BigEndian.PutUint16(p[0:], 1)
	binary.BigEndian.PutUint16(p[2:], 0x0800)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], op)
	copy(p[8:], sha)
	a := netip.MustParseAddr(spa).As4()
	copy(p[14:], a[:])
	return b
}

// ndFrame builds an ICMPv6 ND message of type typ from src with target and
// a link-layer option (type opt, address ll; none when opt is 0).
func ndFrame(src []byte, typ byte, target string, opt byte, ll []byte) []byte {
	msg := make([]byte, 24)
	msg[0] = typ
	if target != "" {
		a := netip.MustParseAddr(target).As16()
		copy(msg[8:], a[:])
	}
	if opt != 0 {
		msg = append(msg, opt, 1)
		msg = append(msg, ll...)
	}
	b := make([]byte, 14+40, 14+40+len(msg))
	copy(b, []byte{0x33, 0x33, 0, 0, 0, 1})
	copy(b[6:], src)
	binary.BigEndian.PutUint16(b[12:], etherIPv6)
	ip := b[14:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(msg)))
	ip[6], ip[7] = 58, 255
	return append(b, msg...)
}

// secureRig has a gateway owning 10.0.0.1, two locked endpoints and one
// open port.
func secureRig(t *testing.T, cfg Config) *rig {
	r := newRig(t, cfg)
	r.add("gw", PortConfig{Security: &PortSecurity{MAC: mac(0xa), IPs: addrs("10.0.0.1")}})
	r.add("victim", PortConfig{Security: &PortSecurity{MAC: mac(1), IPs: addrs("10.0.0.2"), Locked: true}})
	r.add("attacker", PortConfig{Security: &PortSecurity{MAC: mac(3), IPs: addrs("10.0.0.3"), Locked: true}})
	r.add("open", PortConfig{MaxMACs: 4})
	return r
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// send injects f on port name and waits until the switch counted it.
func (r *rig) send(name string, f []byte) PortStats {
	r.t.Helper()
	before := r.stats(name).RxFrames
	r.ports[name].Inject(f)
	for range 200 {
		if st := r.stats(name); st.RxFrames > before {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatalf("port %s: frame never counted", name)
	return PortStats{}
}

func (r *rig) stats(name string) PortStats {
	for _, p := range r.sw.Stats().Ports {
		if p.ID == r.ids[name] {
			return p
		}
	}
	r.t.Fatalf("no port %s", name)
	return PortStats{}
}

func TestPortSecurityIngress(t *testing.T) {
	ll1 := linkLocal(net.HardwareAddr(mac(1))).String()
	cases := []struct {
		name, from string
		frame      []byte
		reason     func(SecurityStats) uint64 // nil: admitted
	}{
		{"own traffic", "victim", frame(bcast, mac(1), 1), nil},
		{"spoofed source MAC", "attacker", frame(bcast, mac(1), 1), func(s SecurityStats) uint64 { return s.SrcMAC }},
		{"random source MAC", "attacker", frame(bcast, mac(0x77), 1), func(s SecurityStats) uint64 { return s.SrcMAC }},
		{"open port uses owned MAC", "open", frame(bcast, mac(1), 1), func(s SecurityStats) uint64 { return s.MACOwned }},
		{"open port uses gateway MAC", "open", frame(bcast, mac(0xa), 1), func(s SecurityStats) uint64 { return s.MACOwned }},
		{"open port new MAC", "open", frame(bcast, mac(0x40), 1), nil},
		{"ARP own address", "attacker", arpFrame(mac(3), mac(3), "10.0.0.3", 2), nil},
		{"ARP probe", "attacker", arpFrame(mac(3), mac(3), "0.0.0.0", 1), nil},
		{"gratuitous ARP for gateway", "attacker", arpFrame(mac(3), mac(3), "10.0.0.1", 2), func(s SecurityStats) uint64 { return s.ARP }},
		{"ARP for a free address", "attacker", arpFrame(mac(3), mac(3), "10.0.0.99", 2), func(s SecurityStats) uint64 { return s.ARP }},
		{"ARP sender MAC not own", "attacker", arpFrame(mac(3), mac(0x55), "10.0.0.3", 2), func(s SecurityStats) uint64 { return s.ARP }},
		{"open port ARP for gateway", "open", arpFrame(mac(0x41), mac(0x41), "10.0.0.1", 2), func(s SecurityStats) uint64 { return s.ARP }},
		{"open port ARP for victim", "open", arpFrame(mac(0x41), mac(0x41), "10.0.0.2", 1), func(s SecurityStats) uint64 { return s.ARP }},
		{"open port ARP sender owned MAC", "open", arpFrame(mac(0x41), mac(1), "10.0.0.50", 1), func(s SecurityStats) uint64 { return s.ARP }},
		{"open port ARP own", "open", arpFrame(mac(0x41), mac(0x41), "10.0.0.50", 1), nil},
		{"truncated ARP from locked port", "attacker", arpFrame(mac(3), mac(3), "10.0.0.3", 2)[:30], func(s SecurityStats) uint64 { return s.ARP }},
		{"truncated ARP from open port", "open", arpFrame(mac(0x41), mac(0x41), "10.0.0.1", 2)[:30], nil},
		{"NA for own link-local", "victim", ndFrame(mac(1), icmp6NA, ll1, ndOptTgtLL, mac(1)), nil},
		{"NA for victim's link-local", "attacker", ndFrame(mac(3), icmp6NA, ll1, ndOptTgtLL, mac(3)), func(s SecurityStats) uint64 { return s.ND }},
		{"NA with foreign MAC option", "attacker", ndFrame(mac(3), icmp6NA, "2001:db8::3", ndOptTgtLL, mac(0x55)), func(s SecurityStats) uint64 { return s.ND }},
		{"NS with own MAC option", "attacker", ndFrame(mac(3), icmp6NS, "2001:db8::1", ndOptSrcLL, mac(3)), nil},
		{"NS with foreign MAC option", "attacker", ndFrame(mac(3), icmp6NS, "2001:db8::1", ndOptSrcLL, mac(1)), func(s SecurityStats) uint64 { return s.ND }},
		{"RA from locked port", "attacker", ndFrame(mac(3), icmp6RA, "", 0, nil), func(s SecurityStats) uint64 { return s.ND }},
		{"RA from open port", "open", ndFrame(mac(0x41), icmp6RA, "", 0, nil), nil},
		{"open port NA for victim", "open", ndFrame(mac(0x41), icmp6NA, ll1, ndOptTgtLL, mac(0x41)), func(s SecurityStats) uint64 { return s.ND }},
		{"QinQ from locked port", "attacker", qinq(frame(bcast, mac(3), 1)), func(s SecurityStats) uint64 { return s.Tagged }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := secureRig(t, Config{})
			r.t = t
			st := r.send(tc.from, tc.frame)
			var dropped uint64
			if tc.reason != nil {
				dropped = tc.reason(st.Security)
				if dropped != 1 {
					t.Fatalf("security counters %+v: want this frame counted", st.Security)
				}
			}
			if tc.reason == nil && st.RxDrops != 0 {
				t.Fatalf("admitted frame dropped: %+v", st)
			}
			if tc.reason != nil && st.RxDrops != 1 {
				t.Fatalf("rx drops %d, want 1", st.RxDrops)
			}
		})
	}
}

// qinq wraps f in an 802.1ad tag.
func qinq(f []byte) []byte {
	b := append([]byte{}, f[:12]...)
	b = binary.BigEndian.AppendUint16(b, etherQinQ)
	b = binary.BigEndian.AppendUint16(b, 5)
	return append(b, f[12:]...)
}

func TestPinnedEntrySurvivesFloodAndMoves(t *testing.T) {
	r := secureRig(t, Config{MaxEntries: 8})
	// A flood of random source MACs from the open port: bounded by its
	// MaxMACs, never evicting the pinned entries.
	for i := range 50 {
		r.send("open", frame(bcast, []byte{0x02, 0x99, 0, 0, 0, byte(i)}, 1))
	}
	st := r.sw.Stats()
	if st.FDBLimited != 46 {
		t.Fatalf("limited %d, want 46 (50 MACs, cap 4)", st.FDBLimited)
	}
	if l := r.stats("open").Learned; l != 4 {
		t.Fatalf("open port learned %d MACs, want 4", l)
	}
	pinned := 0
	for _, e := range r.sw.FDB() {
		if e.Pinned {
			pinned++
		}
	}
	if pinned != 3 {
		t.Fatalf("%d pinned entries after the flood, want 3: %v", pinned, r.sw.FDB())
	}
	// The attacker cannot move the victim's entry: unicast to the victim
	// still reaches it alone, and ageing does not remove it.
	r.send("attacker", frame(bcast, mac(1), 2))
	r.clock.Advance(time.Hour)
	r.sw.ExpireNow()
	r.drain()
	f := frame(mac(1), mac(0xa), 3)
	r.ports["gw"].Inject(f)
	r.expect(f, "victim")
	if st := r.sw.Stats(); st.FDBMoved != 0 {
		t.Fatalf("fdb moved %d times", st.FDBMoved)
	}
}

func TestAddPortOwnership(t *testing.T) {
	r := secureRig(t, Config{})
	cases := []struct {
		name string
		sec  PortSecurity
		err  error
	}{
		{"same MAC", PortSecurity{MAC: mac(1), IPs: addrs("10.0.0.9")}, ErrOwned},
		{"gateway IP", PortSecurity{MAC: mac(9), IPs: addrs("10.0.0.1")}, ErrOwned},
		{"multicast MAC", PortSecurity{MAC: bcast}, nil},
		{"zero MAC", PortSecurity{MAC: make([]byte, 6)}, nil},
		{"bad IP", PortSecurity{MAC: mac(9), IPs: []netip.Addr{{}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sec := tc.sec
			p := port.NewFake(port.Info{Name: "x", MTU: 1500}, false)
			defer p.Close()
			_, err := r.sw.AddPort(p, PortConfig{Security: &sec})
			if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Fatalf("AddPort: %v, want %v", err, tc.err)
			}
		})
	}
	// Once the victim is gone its addresses are free again.
	if err := r.sw.RemovePort(r.ids["victim"]); err != nil {
		t.Fatal(err)
	}
	delete(r.ports, "victim")
	r.add("again", PortConfig{Security: &PortSecurity{MAC: mac(1), IPs: addrs("10.0.0.2"), Locked: true}})
}

// drain discards the frames the ports received so far.
func (r *rig) drain() {
	for _, p := range r.ports {
		for {
			done := make(chan struct{})
			t := time.AfterFunc(30*time.Millisecond, func() { close(done) })
			b := p.Recv(done)
			t.Stop()
			if b == nil {
				break
			}
		}
	}
}
