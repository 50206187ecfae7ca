package gateway

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/switchyard/switchyard/nat"
)

// outside is a destination beyond the gateway; the tests' Dial hooks
// stand in for the host's sockets, so nothing is sent anywhere.
var outside = netip.MustParseAddrPort("192.0.2.10:80")

// dialOutside dials dst from the peer with a bounded wait.
func dialOutside(t *testing.T, p *peer, dst netip.AddrPort) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return gonet.DialContextTCP(ctx, p.s, full(dst), ipv4.ProtocolNumber)
}

// pipeDialer answers every dial with one end of a net.Pipe whose other
// end echoes; it counts the dials.
type pipeDialer struct{ dials atomic.Int32 }

func (d *pipeDialer) dial(_ context.Context, _, _ string) (net.Conn, error) {
	d.dials.Add(1)
	a, b := net.Pipe()
	go func() { io.Copy(b, b); b.Close() }()
	return a, nil
}

func TestNATDialFailureResets(t *testing.T) {
	refuse := func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	}
	g := mustGateway(t, Config{NAT: nat.Config{Dial: refuse}})
	p := newPeer(t, g)
	_, err := dialOutside(t, p, outside)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("dial through NAT to a refusing destination: %v, want connection refused", err)
	}
	if st := g.NAT().Stats(); st.DialFailed != 1 || st.TCPFlows != 0 {
		t.Fatalf("stats %+v; want one failed dial and no flow", st)
	}
}

func TestNATDenyPolicy(t *testing.T) {
	var d pipeDialer
	denied := netip.MustParseAddr("192.0.2.20")
	g := mustGateway(t, Config{NAT: nat.Config{Dial: d.dial, Deny: func(a netip.Addr) bool { return a == denied }}})
	p := newPeer(t, g)
	if _, err := dialOutside(t, p, netip.AddrPortFrom(denied, 80)); err == nil {
		t.Fatal("denied destination connected")
	}
	if st := g.NAT().Stats(); st.RefusedPolicy != 1 || d.dials.Load() != 0 {
		t.Fatalf("stats %+v, %d dials; want one policy refusal and no dial", st, d.dials.Load())
	}
	c, err := dialOutside(t, p, outside)
	if err != nil {
		t.Fatalf("allowed destination: %v", err)
	}
	c.Close()
}

// TestNATTableCapAndFlows: the table holds MaxTCP flows and counts the
// refused; listings carry bytes each way and the age from the injected
// clock.
func TestNATTableCapAndFlows(t *testing.T) {
	var d pipeDialer
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	g := mustGateway(t, Config{NAT: nat.Config{Dial: d.dial, MaxTCP: 1, Now: clock}})
	p := newPeer(t, g)
	c, err := dialOutside(t, p, outside)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if b := make([]byte, 5); func() error { _, err := io.ReadFull(c, b); return err }() != nil || string(b) != "hello" {
		t.Fatalf("echo through NAT: %q", b)
	}
	if _, err := dialOutside(t, p, netip.MustParseAddrPort("192.0.2.11:80")); err == nil {
		t.Fatal("a second flow got past MaxTCP 1")
	}
	if st := g.NAT().Stats(); st.RefusedFull != 1 || st.TCPFlows != 1 {
		t.Fatalf("stats %+v; want one flow and one refused", st)
	}
	now.Add(int64(7 * time.Second))
	// The byte counts are bumped after each write returns: the echo can
	// be back before they are.
	var flows []nat.FlowInfo
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		flows = g.NAT().Flows()
		if len(flows) == 1 && flows[0].ToDest == 5 && flows[0].FromDest == 5 || time.Now().After(deadline) {
			break
		}
	}
	if len(flows) != 1 {
		t.Fatalf("flows %+v", flows)
	}
	f := flows[0]
	if f.Proto != "tcp" || f.Dest != outside.String() || f.ToDest != 5 || f.FromDest != 5 || f.Age != 7*time.Second {
		t.Fatalf("flow %+v; want tcp to %v, 5 bytes each way, age 7s", f, outside)
	}
}

// TestNATUDPIdleExpiry: a UDP flow goes away after UDPIdle without
// datagrams, and its socket with it.
func TestNATUDPIdleExpiry(t *testing.T) {
	echo := hostUDPEcho(t)
	var closed atomic.Int32
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, echo.String())
		if err != nil {
			return nil, err
		}
		return closeCounter{c, &closed}, nil
	}
	g := mustGateway(t, Config{NAT: nat.Config{Dial: dial, UDPIdle: 300 * time.Millisecond}})
	p := newPeer(t, g)
	dst := full(netip.MustParseAddrPort("192.0.2.53:53"))
	c, err := gonet.DialUDP(p.s, nil, &dst, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("query"))
	buf := make([]byte, 100)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "query" {
		t.Fatalf("UDP echo through NAT: %q %v", buf[:n], err)
	}
	if st := g.NAT().Stats(); st.UDPFlows != 1 {
		t.Fatalf("stats %+v; want one UDP flow", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.NAT().Stats().UDPFlows != 0 || closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("UDP flow not expired: stats %+v, host sockets closed %d", g.NAT().Stats(), closed.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeCounter counts Close calls of a host socket.
type closeCounter struct {
	net.Conn
	n *atomic.Int32
}

func (c closeCounter) Close() error {
	c.n.Add(1)
	return c.Conn.Close()
}
