package proxy

import (
	"net"
	"net/netip"
	"testing"
)

// TestUDPRoundTripAllocs: once a flow exists, a datagram through the
// proxy and its reply allocate nothing in the proxy (the echo backend
// and the client here allocate nothing either; AllocsPerRun counts every
// goroutine of the process).
func TestUDPRoundTripAllocs(t *testing.T) {
	backend, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := backend.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			backend.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	p := newProxy(t, Config{})
	_, ln := add(t, p, Mapping{Proto: UDP, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Backend: addrPortOf(backend.LocalAddr())})
	c := udpClient(t, "127.0.0.1:0")
	msg := []byte("sixty-four bytes or so")
	echoUDP(t, c, ln, msg) // creates the flow
	buf := make([]byte, 2048)
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := c.WriteToUDPAddrPort(msg, ln); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per round trip", allocs)
	}
}
