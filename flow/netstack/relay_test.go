package netstack_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/switchyard/switchyard/flow"
	"github.com/switchyard/switchyard/flow/netstack"
)

// loopStack is a netstack with 10.0.0.1 on a loopback NIC and a listener
// on port 80.
func loopStack(t *testing.T) (*stack.Stack, *gonet.TCPListener) {
	t.Helper()
	s := stack.New(stack.Options{NetworkProtocols: []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol}})
	t.Cleanup(func() { s.Close(); s.Wait() })
	if err := s.CreateNIC(1, loopback.New()); err != nil {
		t.Fatal(err)
	}
	addr := tcpip.AddrFrom4([4]byte{10, 0, 0, 1})
	s.AddProtocolAddress(1, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: addr.WithPrefix()}, stack.AddressProperties{})
	s.SetRouteTable([]tcpip.Route{{Destination: addr.WithPrefix().Subnet(), NIC: 1}})
	ln, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: 1, Addr: addr, Port: 80}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return s, ln
}

// relayGoroutines counts the goroutines running the flow engine's copy
// loops.
func relayGoroutines() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "switchyard/flow.") && !strings.Contains(g, "reclaimLoop") {
			n++
		}
	}
	return n
}

// TestRelayNetstackToHost: bytes both ways between a netstack connection
// and a host socket, half-closes passed on, and one goroutine for an idle
// connection (the netstack direction runs on notifications).
func TestRelayNetstackToHost(t *testing.T) {
	s, ln := loopStack(t)
	peerc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		peerc <- c
	}()
	ns, err := netstack.DialTCP(context.Background(), s, tcpip.FullAddress{}, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4([4]byte{10, 0, 0, 1}), Port: 80}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	nsPeer := <-peerc // the netstack side's peer
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	client, err := net.Dial("tcp", hl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	host, _ := hl.Accept()
	var up, down atomic.Uint64
	done := make(chan struct{})
	go func() { flow.Relay(ns, host, &up, &down); close(done) }()
	time.Sleep(50 * time.Millisecond)
	if n := relayGoroutines(); n != 1 {
		t.Errorf("%d goroutines for an idle relay, want 1", n)
	}
	big := bytes.Repeat([]byte("netstack"), 128<<10) // 1 MiB
	go func() { nsPeer.Write(big); nsPeer.(*gonet.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("host client read %d bytes (%v), want %d", len(got), err, len(big))
	}
	client.Write([]byte("and back"))
	client.(*net.TCPConn).CloseWrite()
	back, err := io.ReadAll(nsPeer)
	if err != nil || string(back) != "and back" {
		t.Fatalf("netstack peer read %q (%v)", back, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("relay did not end after both half-closes")
	}
	if up.Load() != uint64(len(big)) || down.Load() != 8 {
		t.Fatalf("counted %d and %d", up.Load(), down.Load())
	}
}
