//go:build !race

package mmsg

import (
	"net"
	"testing"
)

// TestAllocatesNothing checks that a steady-state send and receive of a
// batch allocates nothing.
func TestAllocatesNothing(t *testing.T) {
	_, arc := udp(t)
	b, brc := udp(t)
	dst := uint16(b.LocalAddr().(*net.UDPAddr).Port)
	const n = 8
	s, r := NewSender(arc, n, 16), NewReceiver(brc, n, 16, 0)
	payload := []byte("allocation-free")
	for i := range n {
		r.SetBuf(i, make([]byte, 64))
	}
	run := func() {
		for range n {
			s.SetInet4(s.Add(payload), 0x7f000001, dst)
		}
		if res, err := s.Flush(); err != nil || res.Sent != n {
			t.Fatalf("Flush: %+v, %v", res, err)
		}
		for got := 0; got < n; {
			k, err := r.Receive()
			if err != nil {
				t.Fatal(err)
			}
			got += k
		}
	}
	run()
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%.1f allocations per batch of %d, want 0", allocs, n)
	}
}
