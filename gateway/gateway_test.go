package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"github.com/switchyard/switchyard/dns"
	"github.com/switchyard/switchyard/nat"
)

// hostEcho is a TCP server on the host's loopback that echoes, then
// half-closes.
func hostEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveEcho(t, ln)
}

// serveEcho echoes every connection to ln until EOF, then half-closes
// and closes it; ln is closed when t ends.
func serveEcho(t *testing.T, ln net.Listener) netip.AddrPort {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func TestTCPToHostLoopbackThroughNAT(t *testing.T) {
	host := hostEcho(t)
	g := mustGateway(t, Config{NAT: nat.Config{AllowHostLoopback: true}})
	p := newPeer(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, p.s, full(netip.AddrPortFrom(gwAddr, host.Port())), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatalf("dial the gateway's host-loopback port: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	data := make([]byte, 1<<20)
	rand.Read(data)
	go func() {
		c.Write(data)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != string(data) {
		t.Fatalf("echo through NAT: %d bytes (%v), want %d identical", len(got), err, len(data))
	}
	flows := g.NAT().Flows()
	if len(flows) > 1 {
		t.Fatalf("flows: %+v", flows)
	}
}

func TestHostLoopbackRefusedByDefault(t *testing.T) {
	host := hostEcho(t)
	g := mustGateway(t, Config{})
	p := newPeer(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := gonet.DialContextTCP(ctx, p.s, full(netip.AddrPortFrom(gwAddr, host.Port())), ipv4.ProtocolNumber)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("dial host loopback without permission: %v, want connection refused", err)
	}
	if st := g.NAT().Stats(); st.RefusedPolicy != 1 {
		t.Fatalf("policy refusals %d, want 1", st.RefusedPolicy)
	}
}

// hostUDPEcho is a UDP server on the host's loopback that echoes every
// datagram; it stops when t ends.
func hostUDPEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestUDPToHostLoopbackThroughNAT(t *testing.T) {
	port := hostUDPEcho(t).Port()
	g := mustGateway(t, Config{NAT: nat.Config{AllowHostLoopback: true}})
	p := newPeer(t, g)
	dst := full(netip.AddrPortFrom(gwAddr, port))
	c, err := gonet.DialUDP(p.s, nil, &dst, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("hello"))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("UDP echo: %q %v", buf[:n], err)
	}
	if f := g.NAT().Flows(); len(f) != 1 || f[0].Proto != "udp" {
		t.Fatalf("conntrack: %+v", f)
	}
}

func TestDNSOnGatewayAddress(t *testing.T) {
	srv := dns.New(dns.Config{Domain: "blue", ResolveNames: true})
	srv.SetRecords([]dns.Record{{Name: "web", Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.9")}}})
	g := mustGateway(t, Config{DNS: srv})
	p := newPeer(t, g)
	dst := full(netip.AddrPortFrom(gwAddr, 53))
	c, err := gonet.DialUDP(p.s, nil, &dst, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	dc := &mdns.Conn{Conn: c}
	q := new(mdns.Msg)
	q.SetQuestion("web.blue.", mdns.TypeA)
	dc.WriteMsg(q)
	r, err := dc.ReadMsg()
	if err != nil || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "10.77.0.9" {
		t.Fatalf("DNS answer %v (%v)", r, err)
	}
	// A malformed query does not hurt the server.
	c.Write([]byte{1, 2, 3})
	dc.WriteMsg(q)
	if r, err := dc.ReadMsg(); err != nil || len(r.Answer) != 1 {
		t.Fatalf("after a malformed query: %v %v", r, err)
	}
}

func TestCloseIsIdempotentAndStopsPort(t *testing.T) {
	g := mustGateway(t, Config{})
	g.Close()
	g.Close()
	if _, err := g.Port().ReadFrames(nil); !errors.Is(err, errClosedPort()) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestSlirpStyleDNSAddressAndUnreachableHostLoopback(t *testing.T) {
	srv := dns.New(dns.Config{Domain: "x", ResolveNames: true})
	srv.SetRecords([]dns.Record{{Name: "n", Addrs: []netip.Addr{netip.MustParseAddr("10.77.0.9")}}})
	dnsAddr := netip.MustParseAddr("10.77.0.3")
	g := mustGateway(t, Config{DNS: srv, DNSAddress: dnsAddr, UnreachableHostLoopback: true})
	p := newPeer(t, g)
	dst := full(netip.AddrPortFrom(dnsAddr, 53))
	c, err := gonet.DialUDP(p.s, nil, &dst, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	dc := &mdns.Conn{Conn: c}
	q := new(mdns.Msg)
	q.SetQuestion("n.", mdns.TypeA)
	dc.WriteMsg(q)
	if r, err := dc.ReadMsg(); err != nil || len(r.Answer) != 1 {
		t.Fatalf("DNS on the second address: %v %v", r, err)
	}
	// Host loopback is not allowed: connecting to the gateway address
	// gets ICMP network unreachable, not a reset.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = gonet.DialContextTCP(ctx, p.s, full(netip.AddrPortFrom(gwAddr, 8080)), ipv4.ProtocolNumber)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("dial host loopback when disabled: %v, want network unreachable", err)
	}
}
