package tap_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/tap"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// newNS creates a throw-away namespace and returns its name and path.
func newNS(t *testing.T) (name, path string) {
	t.Helper()
	name = nstest.NewNetns(t)
	return name, nstest.Path(name)
}

// nlHandle returns a netlink handle bound to the namespace at path.
func nlHandle(t *testing.T, path string) *netlink.Handle {
	t.Helper()
	var h *netlink.Handle
	err := nsutil.Do(path, func() (err error) {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", path, err)
	}
	t.Cleanup(h.Close)
	return h
}

// linkNames lists the interface names in the namespace at path.
func linkNames(t *testing.T, path string) []string {
	t.Helper()
	links, err := nlHandle(t, path).LinkList()
	if err != nil {
		t.Fatalf("listing links: %v", err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

// wantLinks fails t unless the namespace holds exactly the given links.
func wantLinks(t *testing.T, path string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := linkNames(t, path); !slices.Equal(got, want) {
		t.Errorf("links in %s: %v, want %v", path, got, want)
	}
}

// mustOpen opens a device and closes it when the test ends.
func mustOpen(t *testing.T, cfg tap.Config) *tap.Device {
	t.Helper()
	d, err := tap.Open(cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// forwarder copies frames from one device to another until src closes.
type forwarder struct {
	gso    atomic.Int64 // super-frames seen
	maxLen atomic.Int64 // longest frame seen
	err    atomic.Value // first unexpected error
}

// run starts copying src to dst on a goroutine tracked by wg.
func (fw *forwarder) run(wg *sync.WaitGroup, src, dst port.Port) {
	fs := make([]*port.Frame, 16)
	for i := range fs {
		fs[i] = port.Get(src.Info().MaxFrame)
	}
	wg.Go(func() {
		for {
			n, err := src.ReadFrames(fs)
			if err != nil {
				if !errors.Is(err, port.ErrClosed) {
					fw.err.CompareAndSwap(nil, err)
				}
				return
			}
			for _, f := range fs[:n] {
				if f.VNet.IsGSO() {
					fw.gso.Add(1)
				}
				if l := int64(f.Len); l > fw.maxLen.Load() {
					fw.maxLen.Store(l)
				}
			}
			if _, err := dst.WriteFrames(fs[:n]); err != nil && !errors.Is(err, port.ErrClosed) {
				fw.err.CompareAndSwap(nil, err)
			}
		}
	})
}

// arpRequest builds an Ethernet ARP request from (mac, ip) asking for target.
func arpRequest(mac net.HardwareAddr, ip, target netip.Addr) []byte {
	b := make([]byte, 42)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	binary.BigEndian.PutUint16(b[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1) // request
	copy(b[22:28], mac)
	s, d := ip.As4(), target.As4()
	copy(b[28:32], s[:])
	copy(b[38:42], d[:])
	return b
}

// isARPReply reports whether frame is an ARP reply from ip.
func isARPReply(frame []byte, ip netip.Addr) bool {
	if len(frame) < 42 || binary.BigEndian.Uint16(frame[12:]) != 0x0806 ||
		binary.BigEndian.Uint16(frame[20:]) != 2 {
		return false
	}
	a := ip.As4()
	return string(frame[28:32]) == string(a[:])
}
