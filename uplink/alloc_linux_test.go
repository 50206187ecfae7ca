//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it: `go test -race` leaves this file
// out instead of skipping.

package uplink

import (
	"testing"

	"github.com/switchyard/switchyard/port"
)

// TestLinkAllocatesNothing checks the steady-state path through two
// parents joined by a veth: virtio-net header, sendmmsg, recvmmsg, auxdata,
// VLAN demultiplexing, tag re-insertion and the hand-off to the switch's
// frames, for untagged and tagged frames.
func TestLinkAllocatesNothing(t *testing.T) {
	a, b := wire(t)
	pa, pb := openParent(t, a), openParent(t, b)
	const batch = 8
	out := make([]*port.Frame, batch)
	in := make([]*port.Frame, batch)
	for i := range batch {
		out[i] = port.Get(port.SmallBuf)
		in[i] = port.Get(port.MaxSuperFrame)
	}
	for _, vlan := range []uint16{0, 10} {
		tx, rx := link(t, pa, vlan), link(t, pb, vlan)
		frame := testFrame(macB, macA, vlan, "allocation-free")
		run := func() {
			for _, f := range out {
				f.SetData(frame)
			}
			if _, err := tx.WriteFrames(out); err != nil {
				t.Fatal(err)
			}
			for got := 0; got < batch; {
				n, err := rx.ReadFrames(in)
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		}
		run()
		if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
			t.Errorf("VLAN %d: %.1f allocations per batch of %d frames, want 0", vlan, allocs, batch)
		}
	}
}
