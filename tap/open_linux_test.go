package tap_test

import (
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/tap"
	"github.com/vishvananda/netlink"
)

// checkLink verifies the interface of d in its namespace against cfg.
func checkLink(t *testing.T, path string, d *tap.Device, cfg tap.Config) {
	t.Helper()
	h := nlHandle(t, path)
	link, err := h.LinkByName(cfg.Name)
	if err != nil {
		t.Fatalf("link %s in %s: %v", cfg.Name, path, err)
	}
	a := link.Attrs()
	tt, ok := link.(*netlink.Tuntap)
	switch {
	case !ok || tt.Mode != netlink.TUNTAP_MODE_TAP:
		t.Errorf("link is %T %+v, want a TAP", link, link)
	case a.Index != d.Index():
		t.Errorf("index %d, device says %d", a.Index, d.Index())
	case a.MTU != cfg.MTU:
		t.Errorf("MTU %d, want %d", a.MTU, cfg.MTU)
	case a.HardwareAddr.String() != cfg.MAC.String() || d.MAC().String() != cfg.MAC.String():
		t.Errorf("MAC %v (device says %v), want %v", a.HardwareAddr, d.MAC(), cfg.MAC)
	case a.Flags&net.FlagUp == 0:
		t.Errorf("link not up: %v", a.Flags)
	case a.TxQLen != 10000:
		t.Errorf("txqueuelen %d, want 10000", a.TxQLen)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != cfg.Addrs[0].String() {
		t.Errorf("addresses %v (%v), want %v", addrs, err, cfg.Addrs)
	}
	if !cfg.Gateway.IsValid() {
		return
	}
	routes, err := h.RouteList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == cfg.Gateway.String() {
			found = true
		}
	}
	if !found {
		t.Errorf("no default route via %v in %v", cfg.Gateway, routes)
	}
}

func TestOpenIn(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run("plain="+strconv.FormatBool(plain), func(t *testing.T) {
			testOpenIn(t, plain)
		})
	}
}

func testOpenIn(t *testing.T, plain bool) {
	name, path := newNS(t)
	sleep := exec.Command("ip", "netns", "exec", name, "sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	pidPath := "/proc/" + strconv.Itoa(sleep.Process.Pid) + "/ns/net"
	want, _ := os.Stat(path)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if fi, err := os.Stat(pidPath); err == nil && os.SameFile(fi, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sleep did not enter the namespace")
		}
	}

	for i, spec := range []string{name, path, "pid:" + strconv.Itoa(sleep.Process.Pid)} {
		cfg := tap.Config{
			Netns:   spec,
			Name:    "eth" + strconv.Itoa(i),
			MTU:     1400 + i,
			MAC:     net.HardwareAddr{0x02, 0x42, 0, 0, 0, byte(i + 1)},
			Addrs:   []netip.Prefix{netip.MustParsePrefix("10.77." + strconv.Itoa(i) + ".1/24")},
			Gateway: netip.MustParseAddr("10.77." + strconv.Itoa(i) + ".254"),
			Plain:   plain,
		}
		if i > 0 {
			cfg.Gateway = netip.Addr{} // one default route per namespace
		}
		d := mustOpen(t, cfg)
		checkLink(t, path, d, cfg)
		info := d.Info()
		wantMax := port.MaxSuperFrame
		if plain {
			wantMax = cfg.MTU + 18
		}
		if info.Name != cfg.Name || info.MTU != cfg.MTU || info.Offload == plain || info.MaxFrame != wantMax {
			t.Errorf("%s: Info() = %+v", spec, info)
		}
		if i == 2 && d.Netns() != pidPath || i < 2 && d.Netns() != path {
			t.Errorf("%s: Netns() = %q", spec, d.Netns())
		}
		t.Logf("%s: offload %v, vnet header %v", spec, info.Offload, d.VNetHdr())
	}
	wantLinks(t, path, "lo", "eth0", "eth1", "eth2")
}

func TestOpenCurrentNetns(t *testing.T) {
	_, path := newNS(t)
	var d *tap.Device
	err := nsutil.Do(path, func() (err error) {
		d, err = tap.Open(tap.Config{Name: "cur0"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Netns() != "" {
		t.Errorf("Netns() = %q, want empty", d.Netns())
	}
	if mac := d.MAC(); len(mac) != 6 || mac[0]&3 != 2 {
		t.Errorf("random MAC %v is not locally administered unicast", mac)
	}
	wantLinks(t, path, "lo", "cur0")
}

func TestClose(t *testing.T) {
	_, path := newNS(t)
	for _, plain := range []bool{false, true} {
		d := mustOpen(t, tap.Config{Netns: path, Name: "eth0", Plain: plain})
		errc := make(chan error, 1)
		go func() {
			fs := []*port.Frame{port.Get(d.Info().MaxFrame)}
			for {
				if _, err := d.ReadFrames(fs); err != nil {
					errc <- err
					return
				}
			}
		}()
		time.Sleep(50 * time.Millisecond)
		if err := d.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, port.ErrClosed) {
				t.Errorf("blocked reader got %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not unblock the reader")
		}
		if err := d.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		fs := []*port.Frame{port.Get(100)}
		if _, err := d.ReadFrames(fs); !errors.Is(err, port.ErrClosed) {
			t.Errorf("ReadFrames after Close: %v", err)
		}
		if _, err := d.WriteFrames(fs); !errors.Is(err, port.ErrClosed) {
			t.Errorf("WriteFrames after Close: %v", err)
		}
		wantLinks(t, path, "lo")
	}
}

func TestOpenErrors(t *testing.T) {
	_, path := newNS(t)
	first := mustOpen(t, tap.Config{Netns: path, Name: "eth0"})
	addr := []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}
	for _, tc := range []struct {
		what string
		cfg  tap.Config
		is   error
	}{
		{"missing netns", tap.Config{Netns: "sytest-missing", Name: "x0"}, fs.ErrNotExist},
		{"missing pid", tap.Config{Netns: "pid:999999999", Name: "x0"}, fs.ErrNotExist},
		{"name too long", tap.Config{Netns: path, Name: "abcdefghijklmnop"}, nil},
		{"empty name", tap.Config{Netns: path}, nil},
		{"template name", tap.Config{Netns: path, Name: "tap%d"}, nil},
		{"bad MTU", tap.Config{Netns: path, Name: "x0", MTU: 70000}, nil},
		{"multicast MAC", tap.Config{Netns: path, Name: "x0", MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}}, nil},
		{"duplicate", tap.Config{Netns: path, Name: "eth0"}, tap.ErrExists},
		{"duplicate plain", tap.Config{Netns: path, Name: "eth0", Plain: true}, tap.ErrExists},
		{"loopback", tap.Config{Netns: path, Name: "lo"}, tap.ErrExists},
		// These fail after the TAP exists: it must be gone again.
		{"unreachable gateway", tap.Config{Netns: path, Name: "x0", Addrs: addr,
			Gateway: netip.MustParseAddr("10.99.0.1")}, nil},
		{"unreachable gateway plain", tap.Config{Netns: path, Name: "x0", Addrs: addr,
			Gateway: netip.MustParseAddr("10.99.0.1"), Plain: true}, nil},
		{"duplicate address", tap.Config{Netns: path, Name: "x0", Addrs: append(addr, addr...)}, nil},
	} {
		d, err := tap.Open(tc.cfg)
		if err == nil {
			d.Close()
			t.Errorf("%s: Open succeeded", tc.what)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v, want %v", tc.what, err, tc.is)
		}
		t.Logf("%s: %v", tc.what, err)
		wantLinks(t, path, "lo", "eth0")
	}
	if link, err := nlHandle(t, path).LinkByName("eth0"); err != nil || link.Attrs().Index != first.Index() {
		t.Errorf("first eth0 disturbed: %v", err)
	}
}

func TestOpenPersistentExisting(t *testing.T) {
	name, path := newNS(t)
	if out, err := exec.Command("ip", "-n", name, "tuntap", "add", "dev", "eth0", "mode", "tap").CombinedOutput(); err != nil {
		nstest.Skipf(t, "ip tuntap add: %v: %s", err, out)
	}
	for _, plain := range []bool{false, true} {
		if _, err := tap.Open(tap.Config{Netns: path, Name: "eth0", Plain: plain}); !errors.Is(err, tap.ErrExists) {
			t.Errorf("plain=%v: Open over a persistent TAP: %v", plain, err)
		}
	}
	wantLinks(t, path, "lo", "eth0") // still there, still persistent
}

// TestOpenExisting opens a persistent TAP made with `ip tuntap add`,
// configures it and carries frames through it; Close leaves it in place.
func TestOpenExisting(t *testing.T) {
	name, path := newNS(t)
	if out, err := exec.Command("ip", "-n", name, "tuntap", "add", "dev", "ptap0", "mode", "tap").CombinedOutput(); err != nil {
		nstest.Skipf(t, "ip tuntap add: %v: %s", err, out)
	}
	for _, plain := range []bool{false, true} {
		cfg := tap.Config{Netns: path, Name: "ptap0", Existing: true, Plain: plain, MTU: 1400,
			MAC:     net.HardwareAddr{0x02, 0x42, 0, 0, 1, 1},
			Addrs:   []netip.Prefix{netip.MustParsePrefix("10.78.0.1/24")},
			Gateway: netip.MustParseAddr("10.78.0.254")} // still there the second time
		d, err := tap.Open(cfg)
		if err != nil {
			t.Fatalf("plain=%v: Open existing: %v", plain, err)
		}
		checkLink(t, path, d, cfg)
		// The kernel answers an ARP request for its address through it.
		peer := net.HardwareAddr{0x02, 0x42, 0, 0, 1, 2}
		req := port.Get(64)
		req.SetData(arpRequest(peer, netip.MustParseAddr("10.78.0.2"), netip.MustParseAddr("10.78.0.1")))
		if n, err := d.WriteFrames([]*port.Frame{req}); n != 1 || err != nil {
			t.Fatalf("plain=%v: write: %d %v", plain, n, err)
		}
		got := make(chan bool, 1)
		go func() {
			fs := []*port.Frame{port.Get(d.Info().MaxFrame)}
			for {
				n, err := d.ReadFrames(fs)
				if err != nil {
					got <- false
					return
				}
				if n == 1 && isARPReply(fs[0].Data(), netip.MustParseAddr("10.78.0.1")) {
					got <- true
					return
				}
			}
		}()
		select {
		case ok := <-got:
			if !ok {
				t.Fatalf("plain=%v: read failed", plain)
			}
		case <-time.After(5 * time.Second):
			d.Close()
			t.Fatalf("plain=%v: no ARP reply through the existing TAP", plain)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		wantLinks(t, path, "lo", "ptap0")
	}
	if _, err := tap.Open(tap.Config{Netns: path, Name: "nope0", Existing: true}); err == nil {
		t.Error("Existing opened a TAP that does not exist")
	}
	if _, err := tap.Open(tap.Config{Netns: path, Name: "lo", Existing: true}); err == nil {
		t.Error("Existing opened lo as a TAP")
	}
	wantLinks(t, path, "lo", "ptap0")
}
