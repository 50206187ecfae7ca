package uplink

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/port"
)

// TestLANHostAnswersEndpointMAC has an endpoint MAC the interface does not
// own ARP for a LAN host through the untagged link: the reply reaches the
// link only because the socket is promiscuous, and the link never reads
// back its own request (PACKET_OUTGOING).
func TestLANHostAnswersEndpointMAC(t *testing.T) {
	a, lan := wire(t)
	nstest.Run(t, lan, "ip", "addr", "add", "192.0.2.1/24", "dev", "up0")
	l := link(t, openParent(t, a), 0)
	arps := collect(l, 0x0806)
	send(t, l, arpRequest(macA, netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.1")))
	deadline := time.Now().Add(5 * time.Second)
	for {
		b := recvWithin(arps, time.Until(deadline))
		if b == nil {
			t.Fatal("no ARP reply from the LAN host")
		}
		if bytes.Equal(b[6:12], macA) {
			t.Fatalf("the link read back its own frame: % x", b)
		}
		if bytes.Equal(b[0:6], macA) && binary.BigEndian.Uint16(b[20:]) == 2 {
			return
		}
	}
}

// TestVLANDemux sends frames of several VLANs from one parent to another
// over the veth: each arrives on the link of its VLAN only, tagged again
// for a VLAN link and untagged for the untagged one; frames of VLANs
// without a link, and for the interface's own MAC, are dropped and
// counted.
func TestVLANDemux(t *testing.T) {
	a, b := wire(t)
	pa, pb := openParent(t, a), openParent(t, b)
	tx := map[uint16]*Link{}
	for _, v := range []uint16{0, 10, 20, 30} {
		tx[v] = link(t, pa, v)
	}
	rx := map[uint16]<-chan []byte{}
	for _, v := range []uint16{0, 10, 20} {
		rx[v] = collect(link(t, pb, v), testType)
	}
	for _, tc := range []struct {
		name string
		vlan uint16
		dst  []byte
		want int // VLAN link that receives it; -1: none
	}{
		{"untagged", 0, macB, 0},
		{"vlan10", 10, macB, 10},
		{"vlan20 broadcast", 20, bcast, 20},
		{"vlan30 has no link", 30, macB, -1},
		{"own MAC", 10, pb.MAC(), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := pb.Stats()
			frame := testFrame(tc.dst, macA, tc.vlan, tc.name)
			send(t, tx[tc.vlan], frame)
			for v, ch := range rx {
				wait := 200 * time.Millisecond
				if int(v) == tc.want {
					wait = 5 * time.Second
				}
				got := recvWithin(ch, wait)
				switch {
				case int(v) == tc.want && !bytes.Equal(got, frame):
					t.Errorf("VLAN %d link got % x, want % x", v, got, frame)
				case int(v) != tc.want && got != nil:
					t.Errorf("VLAN %d link got % x, want nothing", v, got)
				}
			}
			after := pb.Stats()
			if tc.want < 0 && after.RxOtherVLAN+after.RxHost != before.RxOtherVLAN+before.RxHost+1 {
				t.Errorf("drop counters before %+v after %+v: want one more drop", before, after)
			}
		})
	}
	if st := pb.Stats(); st.RxHost != 1 || st.RxOtherVLAN == 0 {
		t.Errorf("parent stats %+v: want one frame for the host, the VLAN 30 frame among other VLANs", st)
	}
}

// TestLinkLifecycle checks VLAN uniqueness, ranges and closing.
func TestLinkLifecycle(t *testing.T) {
	a, _ := wire(t)
	p := openParent(t, a)
	l := link(t, p, 10)
	if _, err := p.Link(LinkConfig{VLAN: 10}); !errors.Is(err, ErrVLANInUse) {
		t.Errorf("second VLAN 10 link: %v, want ErrVLANInUse", err)
	}
	if _, err := p.Link(LinkConfig{VLAN: 4095}); err == nil {
		t.Error("VLAN 4095 accepted")
	}
	if got := l.Info(); got.Name != "up0.10" || !got.Offload || got.MTU != 1500 || got.MaxFrame != port.MaxSuperFrame || !got.NonBlocking {
		t.Errorf("Info %+v", got)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.ReadFrames([]*port.Frame{port.Get(port.MaxSuperFrame)})
		done <- err
	}()
	l.Close()
	if err := <-done; !errors.Is(err, port.ErrClosed) {
		t.Errorf("ReadFrames after Close: %v", err)
	}
	if p.Links() != 0 {
		t.Errorf("Links() = %d after Close, want 0", p.Links())
	}
	if _, err := p.Link(LinkConfig{VLAN: 10}); err != nil {
		t.Errorf("VLAN 10 again after Close: %v", err)
	}
	if _, err := Open(Config{Interface: "nosuch0", Netns: a}); err == nil {
		t.Error("Open of a missing interface succeeded")
	}
}
