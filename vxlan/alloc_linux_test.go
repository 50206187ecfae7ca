//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it: `go test -race` leaves this file
// out instead of skipping.

package vxlan

import (
	"testing"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// TestTunnelAllocatesNothing checks the steady-state tunnel path: encap,
// table lookup, sendmmsg, recvmmsg, decap, learning and the hand-off to
// the switch's frames, for known unicast and for head-end replication.
func TestTunnelAllocatesNothing(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 77}, "127.0.0.2", "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 77})
	if err := ta.SetRemote(macB, mustAddr("127.0.0.2")); err != nil {
		t.Fatal(err)
	}
	const batch = 8
	out := make([]*port.Frame, batch)
	in := make([]*port.Frame, batch)
	for i := range batch {
		out[i] = port.Get(port.SmallBuf)
		in[i] = port.Get(port.SmallBuf)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{{"unicast", ethFrame(macB, macA, "payload of a unicast frame")}, {"flood", ethFrame(bcast, macA, "flooded")}} {
		run := func() {
			for _, f := range out {
				f.SetData(tc.frame)
			}
			if _, err := ta.WriteFrames(out); err != nil {
				t.Fatal(err)
			}
			for got := 0; got < batch; {
				n, err := tb.ReadFrames(in)
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		}
		run()
		if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
			t.Errorf("%s: %.1f allocations per batch of %d frames, want 0", tc.name, allocs, batch)
		}
	}
}

// TestSuperFrameAllocatesNothing checks the UDP GSO send of a TCP
// super-frame and the GRO receive that coalesces it again.
func TestSuperFrameAllocatesNothing(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 78}, "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 78})
	src, h := superFrame(30000, 1398)
	want := offload.SegmentCount(&h, src.Data(), 1450)
	out := []*port.Frame{port.Get(port.MaxSuperFrame)}
	in := []*port.Frame{port.Get(port.MaxSuperFrame)}
	run := func() {
		out[0].Len = copy(out[0].Space(), src.Data())
		out[0].VNet = h
		if _, err := ta.WriteFrames(out); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < want; {
			if _, err := tb.ReadFrames(in); err != nil {
				t.Fatal(err)
			}
			got += max(1, offload.SegmentCount(&in[0].VNet, in[0].Data(), 1450))
		}
	}
	run()
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%.1f allocations per super-frame, want 0", allocs)
	}
}
