//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it: `go test -race` leaves this file
// out instead of skipping.

package vswitch

import (
	"runtime"
	"testing"

	"github.com/switchyard/switchyard/port"
)

// TestForwardingAllocatesNothing checks the steady-state forwarding path:
// known unicast, flooding, ARP, and segmentation for a port without
// offloads, on open ports and on ports with port security.
func TestForwardingAllocatesNothing(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "port-security"}[secure], func(t *testing.T) {
			testForwardingAllocs(t, secure)
		})
	}
}

func testForwardingAllocs(t *testing.T, secure bool) {
	sw := New(Config{Clock: &fakeClock{}})
	defer sw.Close()
	var ports []*portState
	for i, name := range []string{"a", "b", "c"} {
		p := port.NewFake(port.Info{Name: name, MTU: 1500, MaxFrame: port.MaxSuperFrame}, false)
		defer p.Close()
		var pc PortConfig
		if secure && i < 2 {
			pc.Security = &PortSecurity{MAC: mac(byte(i + 1)), IPs: addrs("10.0.0." + string(rune('1'+i))), Locked: true}
		}
		id, err := sw.AddPort(p, pc)
		if err != nil {
			t.Fatal(err)
		}
		for _, ps := range *sw.ports.Load() {
			if ps.id == id {
				ports = append(ports, ps)
			}
		}
	}
	a, b := ports[0], ports[1]
	learnB := frame(bcast, mac(2), 0)
	uni := frame(mac(2), mac(1), 1)
	flood := frame(bcast, mac(1), 2)
	sf, hdr := superFrame(mac(2), mac(1), 8000, 1448)

	readers := map[*portState]*reader{a: newReader(a), b: newReader(b)}
	run := func(in *portState, data []byte, gso bool) {
		rd := readers[in]
		for _, f := range rd.batch[:8] {
			f.SetData(data)
			if gso {
				f.VNet = hdr
			}
		}
		sw.ingress(rd, 8)
		// Let the writers drain so buffers return to the pool before the
		// next batch (AllocsPerRun runs with GOMAXPROCS=1).
		for _, ps := range ports {
			for len(ps.q) > 0 {
				runtime.Gosched()
			}
		}
		runtime.Gosched()
	}
	run(b, learnB, false)
	cases := []struct {
		name string
		data []byte
		gso  bool
	}{{"unicast", uni, false}, {"flood", flood, false}, {"segment", sf, true},
		{"arp", arpFrame(mac(1), mac(1), "10.0.0.1", 2), false}}
	for _, tc := range cases {
		run(a, tc.data, tc.gso) // warm the pools
		allocs := testing.AllocsPerRun(200, func() { run(a, tc.data, tc.gso) })
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per batch of 8 frames, want 0", tc.name, allocs)
		}
	}
}

// nopObserver is an observer that looks at nothing.
type nopObserver struct{}

func (nopObserver) Observe(PortID, string, Direction, []*port.Frame) {}

// BenchmarkForward measures the ingress decision and queue hand-off for a
// batch of known-unicast frames (the writer drains on another goroutine),
// with no observer (the capture hook costs one atomic load per batch) and
// with one installed.
func BenchmarkForward(b *testing.B) {
	b.Run("no-capture", func(b *testing.B) { benchForward(b, nil) })
	b.Run("observer", func(b *testing.B) { benchForward(b, nopObserver{}) })
}

func benchForward(b *testing.B, o Observer) {
	sw := New(Config{Clock: &fakeClock{}})
	sw.SetObserver(o)
	defer sw.Close()
	for _, name := range []string{"a", "b"} {
		p := port.NewFake(port.Info{Name: name, MTU: 1500}, false)
		defer p.Close()
		if _, err := sw.AddPort(p, PortConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	ports := *sw.ports.Load()
	ra, rb := newReader(ports[0]), newReader(ports[1])
	rb.batch[0].SetData(frame(bcast, mac(2), 0))
	sw.ingress(rb, 1)
	uni := frame(mac(2), mac(1), 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(uni) * len(ra.batch)))
	for b.Loop() {
		for _, f := range ra.batch {
			f.SetData(uni)
		}
		sw.ingress(ra, len(ra.batch))
	}
}
