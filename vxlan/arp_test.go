package vxlan

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// arpRequestFrame is a broadcast who-has tpa from macA at 10.0.0.1.
func arpRequestFrame(tpa string) []byte {
	b := append(append(append([]byte{}, bcast...), macA...), 0x08, 0x06)
	b = append(b, 0, 1, 8, 0, 6, 4, 0, 1)
	b = append(append(b, macA...), 10, 0, 0, 1)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, netip.MustParseAddr(tpa).AsSlice()...)
}

func TestARPForRemoteEndpointAnsweredLocally(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 31}, "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 31})
	if err := ta.SetNeighbors(map[netip.Addr]net.HardwareAddr{mustAddr("10.0.0.2"): macB}); err != nil {
		t.Fatal(err)
	}
	// The reader already waits in the socket when the answer is queued.
	reply := make(chan []byte, 1)
	go func() { reply <- recvFrame(ta, 3*time.Second) }()
	time.Sleep(100 * time.Millisecond)
	send(t, ta, arpRequestFrame("10.0.0.2"))
	want := append(append(append([]byte{}, macA...), macB...), 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2)
	want = append(append(want, macB...), 10, 0, 0, 2)
	want = append(append(want, macA...), 10, 0, 0, 1)
	if got := <-reply; !bytes.Equal(got, want) {
		t.Fatalf("reply % x\nwant      % x", got, want)
	}
	if st := ta.Stats(); st.TxDatagrams != 0 || st.ARPAnswered != 1 {
		t.Fatalf("stats %+v: the request must not cross the tunnel", st)
	}
	// Unknown addresses and announcements are flooded as before.
	for _, tpa := range []string{"10.0.0.3", "10.0.0.1"} {
		req := arpRequestFrame(tpa)
		send(t, ta, req)
		if got := recvFrame(tb, 2*time.Second); !bytes.Equal(got, req) {
			t.Fatalf("who-has %s: b got % x, want the request", tpa, got)
		}
	}
	if err := ta.SetNeighbors(map[netip.Addr]net.HardwareAddr{mustAddr("fd00::1"): macB}); err == nil {
		t.Fatal("an IPv6 neighbour was accepted")
	}
}
