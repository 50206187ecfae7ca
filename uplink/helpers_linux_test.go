package uplink

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/port"
)

// wire links two new namespaces with a veth pair, "up0" on both ends,
// and returns their names.
func wire(t *testing.T) (string, string) {
	t.Helper()
	return nstest.Veth(t, "up0")
}

// openParent opens a parent on up0 in ns, closed when t ends.
func openParent(t *testing.T, ns string) *Parent {
	t.Helper()
	p, err := Open(Config{Interface: "up0", Netns: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// link adds the link of vlan to p, closed when t ends.
func link(t *testing.T, p *Parent, vlan uint16) *Link {
	t.Helper()
	l, err := p.Link(LinkConfig{VLAN: vlan})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// collect reads l until it closes and sends a copy of every frame whose
// EtherType (after any tag) is etype.
func collect(l *Link, etype uint16) <-chan []byte {
	ch := make(chan []byte, 256)
	go func() {
		fs := make([]*port.Frame, 8)
		for i := range fs {
			fs[i] = port.Get(port.MaxSuperFrame)
		}
		for {
			n, err := l.ReadFrames(fs)
			if err != nil {
				return
			}
			for _, f := range fs[:n] {
				if d := f.Data(); etherType(d) == etype {
					select {
					case ch <- append([]byte(nil), d...):
					default:
					}
				}
			}
		}
	}()
	return ch
}

// etherType returns a frame's EtherType, looking past one 802.1Q tag.
func etherType(d []byte) uint16 {
	if len(d) < 14 {
		return 0
	}
	et := binary.BigEndian.Uint16(d[12:])
	if et == tpid8021Q && len(d) >= 18 {
		et = binary.BigEndian.Uint16(d[16:])
	}
	return et
}

// send writes frames to l and fails t on error.
func send(t *testing.T, l *Link, frames ...[]byte) {
	t.Helper()
	fs := make([]*port.Frame, len(frames))
	for i, b := range frames {
		fs[i] = port.Get(len(b))
		fs[i].SetData(b)
	}
	if n, err := l.WriteFrames(fs); err != nil || n != len(fs) {
		t.Fatalf("WriteFrames: %d, %v", n, err)
	}
	for _, f := range fs {
		port.Put(f)
	}
}

// recvWithin returns the next frame from ch, or nil after d.
func recvWithin(ch <-chan []byte, d time.Duration) []byte {
	select {
	case b := <-ch:
		return b
	case <-time.After(d):
		return nil
	}
}

// testType is the IEEE local experimental EtherType used for test frames.
const testType = 0x88b5

var (
	macA  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// testFrame builds an Ethernet frame of testType, 802.1Q-tagged with vlan
// unless it is 0.
func testFrame(dst, src net.HardwareAddr, vlan uint16, payload string) []byte {
	b := append(append([]byte(nil), dst...), src...)
	if vlan != 0 {
		b = binary.BigEndian.AppendUint16(b, tpid8021Q)
		b = binary.BigEndian.AppendUint16(b, vlan)
	}
	b = binary.BigEndian.AppendUint16(b, testType)
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// arpRequest builds an Ethernet ARP request from (mac, ip) asking for target.
func arpRequest(mac net.HardwareAddr, ip, target netip.Addr) []byte {
	b := make([]byte, 42)
	copy(b[0:6], bcast)
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	binary.BigEndian.PutUint16(b[14:], 1)
	binary.BigEndian.PutUint16(b[16:], 0x0800)
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1)
	copy(b[22:28], mac)
	s, d := ip.As4(), target.As4()
	copy(b[28:32], s[:])
	copy(b[38:42], d[:])
	return b
}
