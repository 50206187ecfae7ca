package tap_test

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/tap"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// rawTap attaches a new TAP called name inside the namespace at path with
// the given TUNSETIFF flags (and offloads when offload is set) and returns
// the file, non-blocking unless blocking is set.
func rawTap(t *testing.T, path, name string, flags uint16, offload, blocking bool) *os.File {
	t.Helper()
	var f *os.File
	err := nsutil.Do(path, func() error {
		fl := unix.O_RDWR | unix.O_CLOEXEC
		if !blocking {
			fl |= unix.O_NONBLOCK
		}
		fd, err := unix.Open("/dev/net/tun", fl, 0)
		if err != nil {
			return err
		}
		ifr, _ := unix.NewIfreq(name)
		ifr.SetUint16(flags)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return err
		}
		if offload {
			if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, 0x07); err != nil {
				unix.Close(fd)
				return err
			}
		}
		f = os.NewFile(uintptr(fd), "/dev/net/tun")
		return nil
	})
	if err != nil {
		t.Fatalf("attaching %s: %v", name, err)
	}
	return f
}

// upWithAddr brings name up in the namespace at path with address a.
func upWithAddr(t *testing.T, path, name string, a netip.Prefix) int {
	t.Helper()
	h := nlHandle(t, path)
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	ipn := &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	return link.Attrs().Index
}

func TestFromFile(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run("plain="+strconv.FormatBool(plain), func(t *testing.T) {
			_, path := newNS(t)
			flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
			if !plain {
				flags |= unix.IFF_VNET_HDR
			}
			f := rawTap(t, path, "ext0", flags, !plain, false)
			idx := upWithAddr(t, path, "ext0", netip.PrefixFrom(tapIP, 24))
			mac := net.HardwareAddr{2, 0, 0, 0, 0, 7}
			d, err := tap.FromFile(f, tap.FileConfig{MTU: 1400, VNetHdr: !plain, Offload: !plain,
				MAC: mac, Index: idx, Netns: path})
			if err != nil {
				f.Close()
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			watchdog := time.AfterFunc(30*time.Second, func() { d.Close() })
			t.Cleanup(func() { watchdog.Stop() })

			info := d.Info()
			wantMax := port.MaxSuperFrame
			if plain {
				wantMax = 1400 + 18
			}
			if info.Name != "ext0" || info.MTU != 1400 || info.Offload == plain || info.MaxFrame != wantMax ||
				d.VNetHdr() == plain || d.Index() != idx || d.Netns() != path || d.MAC().String() != mac.String() {
				t.Errorf("Info() = %+v, vnet %v, index %d, netns %q, MAC %v", info, d.VNetHdr(), d.Index(), d.Netns(), d.MAC())
			}

			// Same zero-allocation data path as Open.
			req := port.Get(64)
			req.SetData(arpRequest(peerMAC, peerIP, tapIP))
			wfs := []*port.Frame{req}
			rfs := make([]*port.Frame, 8)
			for i := range rfs {
				rfs[i] = port.Get(info.MaxFrame)
			}
			if _, err := d.WriteFrames(wfs); err != nil {
				t.Fatal(err)
			}
			readARPReply(t, d, rfs)
			var stepErr error
			allocs := testing.AllocsPerRun(200, func() {
				if n, err := d.WriteFrames(wfs); err != nil || n != 1 {
					stepErr = err
					return
				}
				_, stepErr = d.ReadFrames(rfs)
			})
			if stepErr != nil {
				t.Fatal(stepErr)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per WriteFrames+ReadFrames, want 0", allocs)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			wantLinks(t, path, "lo") // not persistent: gone with the file
		})
	}
}

func TestFromFileErrors(t *testing.T) {
	_, path := newNS(t)
	tapFlags := uint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, tc := range []struct {
		what string
		file func() *os.File
		fc   tap.FileConfig
		want string
	}{
		{"nil file", func() *os.File { return nil }, tap.FileConfig{}, "nil file"},
		{"pipe", func() *os.File { return r }, tap.FileConfig{}, "TUNGETIFF"},
		{"blocking", func() *os.File { return rawTap(t, path, "e0", tapFlags, false, true) },
			tap.FileConfig{VNetHdr: true}, "not pollable"},
		{"tun", func() *os.File { return rawTap(t, path, "e1", unix.IFF_TUN|unix.IFF_NO_PI, false, false) },
			tap.FileConfig{}, "not a TAP"},
		{"vnet mismatch", func() *os.File { return rawTap(t, path, "e3", tapFlags, false, false) },
			tap.FileConfig{}, "virtio-net header is true"},
		{"name mismatch", func() *os.File { return rawTap(t, path, "e4", tapFlags, false, false) },
			tap.FileConfig{Name: "other", VNetHdr: true}, `attached to "e4"`},
		{"offload without vnet", func() *os.File { return rawTap(t, path, "e5", tapFlags, false, false) },
			tap.FileConfig{Offload: true}, "need the virtio-net header"},
		{"bad MTU", func() *os.File { return rawTap(t, path, "e6", tapFlags, false, false) },
			tap.FileConfig{VNetHdr: true, MTU: 10}, "out of range"},
	} {
		f := tc.file()
		d, err := tap.FromFile(f, tc.fc)
		if err == nil {
			d.Close()
			t.Errorf("%s: FromFile succeeded", tc.what)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to mention %q", tc.what, err, tc.want)
		}
		t.Logf("%s: %v", tc.what, err)
		if f != nil {
			f.Close() // on error the caller still owns the file
		}
	}
	wantLinks(t, path, "lo")
}
