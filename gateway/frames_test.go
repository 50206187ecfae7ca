package gateway

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/dns"
	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// arpRequest builds a who-has frame from 10.77.0.2 for target.
func arpRequest(target net.IP) []byte {
	b := make([]byte, 42)
	copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:], []byte{2, 0, 0, 0, 0, 2})
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	copy(a[8:], []byte{2, 0, 0, 0, 0, 2})
	copy(a[14:], net.IP{10, 77, 0, 2})
	copy(a[24:], target.To4())
	return b
}

// readOne returns the next frame the gateway sends, or nil after wait.
func readOne(g *Gateway, wait time.Duration) []byte {
	select {
	case f := <-g.link.out:
		defer port.Put(f)
		return append([]byte(nil), f.Data()...)
	case <-time.After(wait):
		return nil
	}
}

func write(g *Gateway, frame []byte, vnet offload.Hdr) {
	f := port.Get(len(frame))
	f.SetData(frame)
	f.VNet = vnet
	g.Port().WriteFrames([]*port.Frame{f})
	port.Put(f)
}

func TestARPAnsweredOnlyForTheGatewayAddress(t *testing.T) {
	g := mustGateway(t, Config{})
	defer g.Close()
	// A spoofing stack would answer for any address; the link must not
	// let it, or it would steal traffic between endpoints.
	write(g, arpRequest(net.IP{10, 77, 0, 3}), offload.Hdr{})
	if b := readOne(g, 100*time.Millisecond); b != nil {
		t.Fatalf("gateway answered ARP for another endpoint's address: % x", b)
	}
	write(g, arpRequest(net.IP{10, 77, 0, 1}), offload.Hdr{})
	b := readOne(g, 2*time.Second)
	if b == nil {
		t.Fatal("no ARP reply for the gateway address")
	}
	// A second address of the gateway (slirp's DNS at network+3) is
	// answered too.
	g2 := mustGateway(t, Config{DNSAddress: netip.MustParseAddr("10.77.0.3"), DNS: dns.New(dns.Config{})})
	defer g2.Close()
	write(g2, arpRequest(net.IP{10, 77, 0, 3}), offload.Hdr{})
	if readOne(g2, 2*time.Second) == nil {
		t.Fatal("no ARP reply for the gateway's DNS address")
	}
	if b == nil || binary.BigEndian.Uint16(b[12:]) != 0x0806 || binary.BigEndian.Uint16(b[20:]) != 2 {
		t.Fatalf("no ARP reply for the gateway address: % x", b)
	}
	if got := net.HardwareAddr(b[22:28]).String(); got != "02:00:00:00:00:01" {
		t.Fatalf("ARP reply announces %s", got)
	}
}

func TestBadChecksumDropped(t *testing.T) {
	g := mustGateway(t, Config{})
	defer g.Close()
	// An ICMP echo to the gateway with a broken IPv4 header checksum.
	f := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0,
		0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0xde, 0xad, 10, 77, 0, 2, 10, 77, 0, 1,
		8, 0, 0xf7, 0xff, 0, 0, 0, 0}
	write(g, f, offload.Hdr{})
	if g.link.stats.badChecksum.Load() != 1 {
		t.Fatalf("bad checksum not counted")
	}
	if b := readOne(g, 100*time.Millisecond); b != nil {
		t.Fatalf("answered a frame with a bad checksum: % x", b)
	}
}

// FuzzWriteFrames feeds arbitrary frames (with arbitrary offload headers)
// to the gateway: it must never panic.
func FuzzWriteFrames(f *testing.F) {
	f.Add(arpRequest(net.IP{10, 77, 0, 1}), uint8(0), uint8(0))
	f.Add([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 20}, uint8(1), uint8(1))
	f.Add(make([]byte, 14), uint8(2), uint8(4))
	g, err := New(Config{Subnet: subnet, Address: gwAddr, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}})
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	go func() {
		for {
			select {
			case fr := <-g.link.out:
				port.Put(fr)
			case <-g.link.closed:
				return
			}
		}
	}()
	f.Fuzz(func(t *testing.T, frame []byte, flags, gso uint8) {
		if len(frame) > port.MaxSuperFrame {
			return
		}
		write(g, frame, offload.Hdr{Flags: flags & 3, GSOType: gso})
	})
}
