package vswitch

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/port"
)

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func mac(last byte) []byte { return []byte{0x02, 0, 0, 0, 0, last} }

var bcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// frame builds an untagged Ethernet frame with a 46-byte payload.
func frame(dst, src []byte, payload byte) []byte {
	b := make([]byte, 60)
	copy(b, dst)
	copy(b[6:], src)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	for i := 14; i < 60; i++ {
		b[i] = payload
	}
	return b
}

// tagged builds an 802.1Q-tagged version of frame.
func tagged(f []byte, vid uint16) []byte {
	b := make([]byte, 0, len(f)+4)
	b = append(b, f[:12]...)
	b = binary.BigEndian.AppendUint16(b, 0x8100)
	b = binary.BigEndian.AppendUint16(b, vid)
	return append(b, f[12:]...)
}

type rig struct {
	t     *testing.T
	sw    *Switch
	clock *fakeClock
	ports map[string]*port.Fake
	ids   map[string]PortID
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	clk := &fakeClock{}
	clk.ns.Store(int64(time.Hour))
	cfg.Clock = clk
	r := &rig{t: t, sw: New(cfg), clock: clk, ports: map[string]*port.Fake{}, ids: map[string]PortID{}}
	t.Cleanup(func() {
		for _, p := range r.ports {
			p.Close()
		}
		r.sw.Close()
	})
	return r
}

func (r *rig) add(name string, pc PortConfig) *port.Fake {
	r.t.Helper()
	p := port.NewFake(port.Info{Name: name, MTU: 1500}, true)
	id, err := r.sw.AddPort(p, pc)
	if err != nil {
		r.t.Fatalf("AddPort %s: %v", name, err)
	}
	r.ports[name], r.ids[name] = p, id
	return p
}

// expect checks that exactly the named ports receive want (and nothing
// else arrives anywhere within a short grace period).
func (r *rig) expect(want []byte, names ...string) {
	r.t.Helper()
	got := map[string]bool{}
	for _, n := range names {
		timeout := time.After(2 * time.Second)
		done := make(chan struct{})
		go func() { <-timeout; close(done) }()
		b := r.ports[n].Recv(done)
		if b == nil {
			r.t.Fatalf("port %s: no frame", n)
		}
		if !bytes.Equal(b, want) {
			r.t.Fatalf("port %s: got % x\nwant % x", n, b, want)
		}
		got[n] = true
	}
	r.quiet(got)
}

// quiet fails if any port not in except receives a frame soon.
func (r *rig) quiet(except map[string]bool) {
	r.t.Helper()
	time.Sleep(30 * time.Millisecond)
	for n, p := range r.ports {
		done := make(chan struct{})
		close(done)
		if b := p.Recv(done); b != nil {
			r.t.Fatalf("port %s: unexpected frame % x (except %v)", n, b[:16], except)
		}
	}
}

func TestLearningAndFlooding(t *testing.T) {
	r := newRig(t, Config{})
	a, b, _ := r.add("a", PortConfig{}), r.add("b", PortConfig{}), r.add("c", PortConfig{})

	f1 := frame(mac(2), mac(1), 1) // B unknown: flood to b and c
	a.Inject(f1)
	r.expect(f1, "b", "c")

	f2 := frame(mac(1), mac(2), 2) // A learned on a: unicast
	b.Inject(f2)
	r.expect(f2, "a")

	f3 := frame(mac(2), mac(1), 3) // B learned on b: unicast
	a.Inject(f3)
	r.expect(f3, "b")

	f4 := frame(bcast, mac(1), 4) // broadcast floods
	a.Inject(f4)
	r.expect(f4, "b", "c")

	mcast := []byte{0x33, 0x33, 0, 0, 0, 1} // IPv6 all-nodes: floods too
	f5 := frame(mcast, mac(2), 5)
	b.Inject(f5)
	r.expect(f5, "a", "c")

	if st := r.sw.Stats(); st.FDBEntries != 2 {
		t.Fatalf("fdb entries = %d, want 2", st.FDBEntries)
	}
}

func TestFilterSameSegmentAndBadSource(t *testing.T) {
	r := newRig(t, Config{})
	a, _ := r.add("a", PortConfig{}), r.add("b", PortConfig{})
	a.Inject(frame(bcast, mac(1), 0))
	r.expect(frame(bcast, mac(1), 0), "b")
	a.Inject(frame(bcast, mac(3), 0))
	r.expect(frame(bcast, mac(3), 0), "b")
	// mac(3) lives behind a: a frame from a to it is filtered.
	a.Inject(frame(mac(3), mac(1), 9))
	r.quiet(nil)
	// Multicast or zero source, runt frames: dropped and counted.
	a.Inject(frame(bcast, bcast, 0))
	a.Inject(frame(bcast, make([]byte, 6), 0))
	a.Inject([]byte{1, 2, 3})
	r.quiet(nil)
	if got := r.sw.Stats().Ports[0].RxDrops; got != 3 {
		t.Fatalf("rx drops = %d, want 3", got)
	}
}

func TestAgeing(t *testing.T) {
	r := newRig(t, Config{AgeingTime: 300 * time.Second})
	a, b, _ := r.add("a", PortConfig{}), r.add("b", PortConfig{}), r.add("c", PortConfig{})
	b.Inject(frame(bcast, mac(2), 0))
	r.expect(frame(bcast, mac(2), 0), "a", "c")

	r.clock.Advance(299 * time.Second)
	a.Inject(frame(mac(2), mac(1), 1))
	r.expect(frame(mac(2), mac(1), 1), "b")

	// mac(2) was last seen 300 s+ ago after this: unknown again, flooded.
	r.clock.Advance(2 * time.Second)
	a.Inject(frame(mac(2), mac(1), 2))
	r.expect(frame(mac(2), mac(1), 2), "b", "c")

	if n := r.sw.ExpireNow(); n != 1 {
		t.Fatalf("expired %d entries, want 1 (mac 2)", n)
	}
	if st := r.sw.Stats(); st.FDBEntries != 1 {
		t.Fatalf("fdb entries = %d after expiry, want 1", st.FDBEntries)
	}
}

func TestCapAndEviction(t *testing.T) {
	r := newRig(t, Config{MaxEntries: 4})
	a, _ := r.add("a", PortConfig{}), r.add("b", PortConfig{})
	for i := byte(1); i <= 6; i++ {
		r.clock.Advance(time.Second)
		a.Inject(frame(bcast, mac(i), i))
		r.expect(frame(bcast, mac(i), i), "b")
	}
	st := r.sw.Stats()
	if st.FDBEntries != 4 || st.FDBEvicted != 2 {
		t.Fatalf("entries=%d evicted=%d, want 4 and 2", st.FDBEntries, st.FDBEvicted)
	}
	// The oldest (mac 1, mac 2) went; mac 6 stays.
	seen := map[string]bool{}
	for _, e := range r.sw.FDB() {
		seen[e.MAC.String()] = true
	}
	if seen["02:00:00:00:00:01"] || seen["02:00:00:00:00:02"] || !seen["02:00:00:00:00:06"] {
		t.Fatalf("wrong entries evicted: %v", seen)
	}
}

func TestRemovePortFlushesEntries(t *testing.T) {
	r := newRig(t, Config{})
	a, b, _ := r.add("a", PortConfig{}), r.add("b", PortConfig{}), r.add("c", PortConfig{})
	b.Inject(frame(bcast, mac(2), 0))
	r.expect(frame(bcast, mac(2), 0), "a", "c")
	b.Close()
	if err := r.sw.RemovePort(r.ids["b"]); err != nil {
		t.Fatal(err)
	}
	delete(r.ports, "b")
	a.Inject(frame(mac(2), mac(1), 1))
	r.expect(frame(mac(2), mac(1), 1), "c")
	if err := r.sw.RemovePort(r.ids["b"]); err == nil {
		t.Fatal("removing a port twice succeeded")
	}
}
