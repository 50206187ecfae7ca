package tap_test

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/tap"
)

var (
	peerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
	peerIP  = netip.MustParseAddr("10.77.1.2")
	tapIP   = netip.MustParseAddr("10.77.1.1")
)

// arpDevice opens a device in a fresh namespace that answers ARP for tapIP,
// and closes it after a while so a lost reply cannot hang the test.
func arpDevice(t *testing.T, plain bool) *tap.Device {
	t.Helper()
	_, path := newNS(t)
	d := mustOpen(t, tap.Config{Netns: path, Name: "eth0", Plain: plain,
		Addrs: []netip.Prefix{netip.PrefixFrom(tapIP, 24)}})
	watchdog := time.AfterFunc(30*time.Second, func() { d.Close() })
	t.Cleanup(func() { watchdog.Stop() })
	return d
}

// readARPReply reads frames until an ARP reply from tapIP shows up.
func readARPReply(t *testing.T, d *tap.Device, fs []*port.Frame) {
	t.Helper()
	for {
		n, err := d.ReadFrames(fs)
		if err != nil {
			t.Fatalf("ReadFrames: %v", err)
		}
		for _, f := range fs[:n] {
			if isARPReply(f.Data(), tapIP) {
				return
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run("plain="+strconv.FormatBool(plain), func(t *testing.T) {
			d := arpDevice(t, plain)
			req := port.Get(64)
			req.SetData(arpRequest(peerMAC, peerIP, tapIP))
			wfs := []*port.Frame{req}
			rfs := make([]*port.Frame, 8)
			for i := range rfs {
				rfs[i] = port.Get(d.Info().MaxFrame)
			}
			// Every request gets a reply, so each read finds at least one
			// frame queued: the loop never blocks for long.
			var err error
			step := func() {
				var n int
				if n, err = d.WriteFrames(wfs); err != nil || n != 1 {
					err = errors.Join(err, errors.New("request not written"))
					return
				}
				_, err = d.ReadFrames(rfs)
			}
			if _, err := d.WriteFrames(wfs); err != nil {
				t.Fatal(err)
			}
			readARPReply(t, d, rfs)
			allocs := testing.AllocsPerRun(500, step)
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per WriteFrames+ReadFrames, want 0", allocs)
			}
			st := d.Stats()
			if st.TxFrames < 500 || st.RxFrames < 500 || st.TxErrors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestWriteBadFrames(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run("plain="+strconv.FormatBool(plain), func(t *testing.T) {
			d := arpDevice(t, plain)
			short := port.Get(64)
			short.SetData([]byte{1, 2, 3, 4, 5})
			badGSO := port.Get(64)
			badGSO.SetData(arpRequest(peerMAC, peerIP, tapIP))
			badGSO.VNet.GSOType = 0x42
			good := port.Get(64)
			good.SetData(arpRequest(peerMAC, peerIP, tapIP))
			fs := []*port.Frame{short, good}
			wantErrs := uint64(1)
			if !plain {
				fs = []*port.Frame{short, badGSO, good}
				wantErrs = 2
			}
			n, err := d.WriteFrames(fs)
			if err != nil || n != 1 {
				t.Fatalf("WriteFrames = %d, %v; want 1 frame written", n, err)
			}
			if st := d.Stats(); st.TxErrors != wantErrs || st.TxFrames != 1 {
				t.Errorf("stats %+v, want %d errors", st, wantErrs)
			}
			readARPReply(t, d, []*port.Frame{port.Get(d.Info().MaxFrame)})
		})
	}
}

func TestReadTruncated(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run("plain="+strconv.FormatBool(plain), func(t *testing.T) {
			d := arpDevice(t, plain)
			req := port.Get(64)
			req.SetData(arpRequest(peerMAC, peerIP, tapIP))
			if _, err := d.WriteFrames([]*port.Frame{req}); err != nil {
				t.Fatal(err)
			}
			// Room for 20 bytes only: the 42-byte ARP reply does not fit.
			small := port.Get(64)
			small.Off = len(small.Buf()) - 20
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := d.ReadFrames([]*port.Frame{small}); err != nil {
						done <- err
						return
					}
					t.Errorf("read a frame of %d bytes into a 20-byte buffer", small.Len)
				}
			}()
			deadline := time.Now().Add(5 * time.Second)
			for d.Stats().RxErrors == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if d.Stats().RxErrors == 0 {
				t.Error("truncated frame not counted")
			}
			d.Close()
			if err := <-done; !errors.Is(err, port.ErrClosed) {
				t.Errorf("ReadFrames: %v", err)
			}
		})
	}
}
