package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// sendRaw writes Ethernet frames on ifname inside namespace ns through a
// packet socket, as a hostile tenant would.
func sendRaw(t *testing.T, ns, ifname string, frames [][]byte) {
	t.Helper()
	err := nsutil.Do(nstest.Path(ns), func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		for _, f := range frames {
			for {
				err = unix.Sendto(fd, f, 0, sa)
				if err != unix.ENOBUFS && err != unix.EAGAIN {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("raw frames from %s: %v", ns, err)
	}
}

// garp builds a gratuitous ARP reply from mac claiming ip.
func garp(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 60)
	copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:], mac)
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	p := b[14:]
	binary.BigEndian.PutUint16(p[0:], 1)
	binary.BigEndian.PutUint16(p[2:], 0x0800)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], 2)
	a := ip.As4()
	copy(p[8:], mac)
	copy(p[14:], a[:])
	copy(p[18:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(p[24:], a[:])
	return b
}

// randomSourceFrames builds n broadcast frames from random unicast MACs.
func randomSourceFrames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, 60)
		copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		rand.Read(b[6:12])
		b[6] = b[6]&0xfe | 0x02
		binary.BigEndian.PutUint16(b[12:], 0x88b5) // local experimental
		out[i] = b
	}
	return out
}

// portStats finds one port's counters on a network.
func portStats(t *testing.T, l *live, network, port string) api.PortStats {
	t.Helper()
	st, err := l.c.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Networks {
		for _, p := range n.Ports {
			if n.Network == network && p.Name == port {
				return p
			}
		}
	}
	t.Fatalf("no port %s on %s in %+v", port, network, st)
	return api.PortStats{}
}

func TestPortSecurityMACSpoof(t *testing.T) {
	l := startDaemon(t)
	victim, attacker := nstest.NewNetns(t), nstest.NewNetns(t)
	v := l.attach("default", victim, "")
	a := l.attach("default", attacker, "")
	if !v.PortSecurity || !a.PortSecurity {
		t.Fatalf("port security off by default: %+v %+v", v, a)
	}
	// The attacker takes the victim's MAC and keeps sending from it while
	// the victim pings the gateway: every reply must still reach the
	// victim (a plain bridge moves the entry and the victim loses them).
	for _, args := range [][]string{{"ip", "link", "set", "eth0", "down"}, {"ip", "link", "set", "eth0", "address", v.MAC},
		{"ip", "link", "set", "eth0", "up"}} {
		if out, err := nstest.Exec(attacker, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	spoof := make(chan struct{})
	go func() {
		defer close(spoof)
		nstest.Exec(attacker, "ping", "-c", "150", "-i", "0.02", "-w", "3", "10.90.0.1")
	}()
	out, err := nstest.Exec(victim, "ping", "-c", "10", "-i", "0.2", "-W", "1", "10.90.0.1")
	<-spoof
	if err != nil || !strings.Contains(out, "10 received") {
		t.Fatalf("victim's pings while spoofed: %v\n%s", err, out)
	}
	if st := portStats(t, l, "default", a.Name); st.Security.SrcMAC == 0 || st.RxDrops < st.Security.SrcMAC {
		t.Fatalf("attacker's spoofed frames not counted: %+v", st)
	}
	for _, e := range mustFDB(t, l) {
		if e.MAC == v.MAC && e.Port != v.Name {
			t.Fatalf("victim's MAC moved to %s", e.Port)
		}
	}
}

func mustFDB(t *testing.T, l *live) []api.FDBEntry {
	t.Helper()
	fdb, err := l.c.FDB(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return fdb
}

func TestPortSecurityGatewayARP(t *testing.T) {
	l := startDaemon(t)
	victim, attacker := nstest.NewNetns(t), nstest.NewNetns(t)
	l.attach("default", victim, "")
	a := l.attach("default", attacker, "")
	openNS := nstest.NewNetns(t)
	open := l.attachWith("default", api.EndpointCreate{Netns: openNS, NoPortSecurity: true})
	remote, ip := remoteHost(t, "10.203.41")
	ln, _ := listenIn(t, remote, "tcp", ip+":8081")
	go acceptEcho(ln)
	if err := ping(victim, "10.90.0.1"); err != nil {
		t.Fatalf("ping gateway: %v", err)
	}
	// Gratuitous ARP for the gateway from a locked port and from one
	// without port security: neither may claim the gateway's address.
	// (After the kernel's locktime of 1 s a plain bridge lets the victim
	// take it and its NAT traffic goes to the attacker.)
	time.Sleep(1200 * time.Millisecond)
	gw := netip.MustParseAddr("10.90.0.1")
	amac, _ := net.ParseMAC(a.MAC)
	omac, _ := net.ParseMAC(open.MAC)
	gwMAC := l.d.Networks()[0].GatewayMAC
	for range 5 {
		sendRaw(t, attacker, "eth0", [][]byte{garp(amac, gw)})
		sendRaw(t, openNS, "eth0", [][]byte{garp(omac, gw)})
		time.Sleep(50 * time.Millisecond)
		out, err := nstest.Exec(victim, "ip", "neigh", "show", "10.90.0.1")
		if err != nil || !strings.Contains(out, gwMAC) {
			t.Fatalf("victim's neighbour entry for the gateway: %q (%v), want %s", out, err, gwMAC)
		}
		tcpEcho(t, victim, ip+":8081")
	}
	if st := portStats(t, l, "default", a.Name); st.Security.ARP < 5 {
		t.Fatalf("attacker's ARP not counted: %+v", st.Security)
	}
	if st := portStats(t, l, "default", open.Name); st.Security.ARP < 5 {
		t.Fatalf("open port's ARP for the gateway not counted: %+v", st.Security)
	}
}

// tcpEcho sends a line from ns to addr and expects it back.
func tcpEcho(t *testing.T, ns, addr string) {
	t.Helper()
	c, err := dialIn(ns, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ns, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo through NAT: %q %v", buf, err)
	}
}

func acceptEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Write(buf[:n])
		}()
	}
}

func (l *live) attachWith(network string, req api.EndpointCreate) api.Endpoint {
	l.t.Helper()
	ep, err := l.c.Attach(context.Background(), network, req)
	if err != nil {
		l.t.Fatalf("attach %+v to %s: %v", req, network, err)
	}
	return ep
}

func TestPortSecurityMACFlood(t *testing.T) {
	l := startDaemonWith(t, daemon.Config{FDBMax: 1024})
	victim, attacker := nstest.NewNetns(t), nstest.NewNetns(t)
	v := l.attach("default", victim, "")
	a := l.attach("default", attacker, "")
	openNS := nstest.NewNetns(t)
	open := l.attachWith("default", api.EndpointCreate{Netns: openNS, NoPortSecurity: true})
	// A real MAC behind the open port, learned before the flood.
	sendRaw(t, openNS, "eth0", [][]byte{garp(net.HardwareAddr{0x02, 0xbb, 0, 0, 0, 1}, netip.MustParseAddr("10.90.0.200"))})

	sendRaw(t, attacker, "eth0", randomSourceFrames(2000))
	sendRaw(t, openNS, "eth0", randomSourceFrames(20000))
	if err := ping(victim, "10.90.0.1"); err != nil {
		t.Fatalf("victim after the flood: %v", err)
	}
	// The TAP may drop some of the burst; what the switch received from
	// the open port beyond its cap of 256 MACs must all be refused.
	var st api.NetworkStats
	var os api.PortStats
	for last := uint64(0); ; last = os.RxFrames {
		time.Sleep(100 * time.Millisecond)
		all, _ := l.c.Stats(context.Background())
		st, os = all.Networks[0], portStats(t, l, "default", open.Name)
		if os.RxFrames == last {
			break
		}
	}
	if os.RxFrames < 10000 || st.FDBLimited+300 < os.RxFrames || st.FDBEvicted != 0 || os.Learned != 256 || st.FDBEntries > 3+256 {
		t.Fatalf("flood not bounded: open port rx %d learned %d; limited %d evicted %d entries %d",
			os.RxFrames, os.Learned, st.FDBLimited, st.FDBEvicted, st.FDBEntries)
	}
	if as := portStats(t, l, "default", a.Name); as.Security.SrcMAC < 1900 || as.Learned != 1 {
		t.Fatalf("locked port's random MACs: %+v", as)
	}
	want := map[string]string{v.MAC: v.Name, "02:bb:00:00:00:01": open.Name}
	for _, e := range mustFDB(t, l) {
		if want[e.MAC] == e.Port {
			delete(want, e.MAC)
		}
	}
	if len(want) != 0 {
		t.Fatalf("real entries lost in the flood: %v", want)
	}
}
