package vswitch

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

func TestSlowPortDropsAndCountsWithoutStallingOthers(t *testing.T) {
	r := newRig(t, Config{QueueLen: 4})
	a := r.add("a", PortConfig{})
	slow := r.add("slow", PortConfig{})
	fast := r.add("fast", PortConfig{})
	// Teach the switch where mac(2) (slow) and mac(3) (fast) live.
	slow.Inject(frame(bcast, mac(2), 0))
	fast.Inject(frame(bcast, mac(3), 0))
	// Wait until both floods have been written everywhere (a: 2, slow: 1,
	// fast: 1), so a late flood cannot land on slow after base is read.
	waitFor(t, func() bool {
		return r.sw.Stats().FDBEntries == 2 && statsOf(r, "a").TxFrames == 2 &&
			statsOf(r, "slow").TxFrames == 1 && statsOf(r, "fast").TxFrames == 1
	})
	for _, p := range r.ports {
		drain(p)
	}

	base := statsOf(r, "slow").TxFrames
	slow.Hold()
	const n = 50
	for i := range n {
		a.Inject(frame(mac(2), mac(1), byte(i)))
	}
	// The fast port keeps getting its frames while slow is stuck.
	for i := range 10 {
		a.Inject(frame(mac(3), mac(1), byte(i)))
		if fast.Recv(timeout(t)) == nil {
			t.Fatalf("fast port stalled at frame %d", i)
		}
	}
	waitFor(t, func() bool { return statsOf(r, "slow").TxDrops > 0 })
	slow.Release()
	waitFor(t, func() bool {
		st := statsOf(r, "slow")
		return st.TxDrops+st.TxFrames-base == n
	})
	st := statsOf(r, "slow")
	if got := len(slow.Written()); uint64(got) != st.TxFrames {
		t.Fatalf("slow port wrote %d frames, counter says %d", got, st.TxFrames)
	}
	t.Logf("slow port: %d sent, %d dropped", st.TxFrames, st.TxDrops)
}

func statsOf(r *rig, name string) PortStats {
	for _, p := range r.sw.Stats().Ports {
		if p.ID == r.ids[name] {
			return p
		}
	}
	r.t.Fatalf("no port %s", name)
	return PortStats{}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 3s")
		}
		time.Sleep(time.Millisecond)
	}
}

func drain(p *port.Fake) {
	done := make(chan struct{})
	close(done)
	for p.Recv(done) != nil {
	}
}

// superFrame builds an Ethernet+IPv4+TCP frame with payload bytes and a
// virtio header as a TAP with TSO hands it over.
func superFrame(dst, src []byte, payload int, mss uint16) ([]byte, offload.Hdr) {
	b := make([]byte, 14+20+20+payload)
	copy(b, dst)
	copy(b[6:], src)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 1234)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12], tcp[13] = 5<<4, 0x18 // ACK|PSH
	for i := range payload {
		tcp[20+i] = byte(i)
	}
	return b, offload.Hdr{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 54,
		GSOSize: mss, CsumStart: 34, CsumOffset: 16}
}

// gsoPort injects frames with a virtio header (the fake only carries data).
type gsoPort struct {
	*port.Fake
	hdr offload.Hdr
}

func (g *gsoPort) ReadFrames(fs []*port.Frame) (int, error) {
	n, err := g.Fake.ReadFrames(fs)
	for _, f := range fs[:n] {
		f.VNet = g.hdr
	}
	return n, err
}

func TestSuperFrameSegmentedOnlyForPortsWithoutOffload(t *testing.T) {
	r := newRig(t, Config{})
	payload := 4000
	sf, hdr := superFrame(bcast, mac(1), payload, 1000)
	src := &gsoPort{Fake: port.NewFake(port.Info{Name: "src", MTU: 1500, Offload: true, MaxFrame: port.MaxSuperFrame}, true), hdr: hdr}
	if _, err := r.sw.AddPort(src, PortConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	plain := r.add("plain", PortConfig{})
	off := port.NewFake(port.Info{Name: "off", MTU: 1500, Offload: true, MaxFrame: port.MaxSuperFrame}, true)
	if _, err := r.sw.AddPort(off, PortConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })

	src.Inject(sf)
	if got := off.Recv(timeout(t)); len(got) != len(sf) {
		t.Fatalf("offload port got %d bytes, want the whole %d-byte super-frame", len(got), len(sf))
	}
	total := 0
	for i := 0; total < payload; i++ {
		seg := plain.Recv(timeout(t))
		if seg == nil {
			t.Fatalf("segment %d missing after %d payload bytes", i, total)
		}
		if len(seg) > 1514 {
			t.Fatalf("segment %d is %d bytes, over the 1500 MTU", i, len(seg))
		}
		total += len(seg) - 54
	}
	if total != payload {
		t.Fatalf("segments carry %d payload bytes, want %d", total, payload)
	}
}
