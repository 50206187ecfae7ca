package tap

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/switchyard/switchyard/port"
)

var _ port.Port = (*Device)(nil)

// Device is an open TAP device: a switch port whose frames go to and come
// from an interface inside a network namespace. One goroutine may read and
// one may write at a time; Close may be called from anywhere.
type Device struct {
	name    string
	netns   string
	index   int
	mac     net.HardwareAddr
	vnet    bool // frames carry a virtio-net header
	offload bool // TSO/checksum offloads negotiated
	info    port.Info

	file     *os.File
	rc       syscall.RawConn
	closed   atomic.Bool
	once     sync.Once
	errClose error
	stats    counters

	// Reader state, used by readFn (created once at Open so the data path
	// does not allocate a closure per call).
	rd struct {
		fs     []*port.Frame
		n      int
		err    error
		readFn func(fd uintptr) bool
	}
	_ [64]byte // keep reader and writer state on separate cache lines

	// Writer state, used by writeFn.
	wr struct {
		fs      []*port.Frame
		i, n    int
		err     error
		writeFn func(fd uintptr) bool
	}
}

// Info returns the port's fixed properties: Name is the interface name,
// Offload is true in fast mode with offloads negotiated, MaxFrame is
// port.MaxSuperFrame then and MTU plus Ethernet and VLAN headers otherwise.
func (d *Device) Info() port.Info { return d.info }

// MAC returns the interface's hardware address.
func (d *Device) MAC() net.HardwareAddr { return append(net.HardwareAddr(nil), d.mac...) }

// Netns returns the resolved path of the device's network namespace, or ""
// if it was created in the caller's namespace.
func (d *Device) Netns() string { return d.netns }

// Index returns the interface index inside the device's namespace.
func (d *Device) Index() int { return d.index }

// VNetHdr reports whether frames carry a virtio-net header (fast mode),
// whether or not offloads could be negotiated.
func (d *Device) VNetHdr() bool { return d.vnet }

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{
		RxFrames: d.stats.rxFrames.Load(),
		TxFrames: d.stats.txFrames.Load(),
		RxErrors: d.stats.rxErrors.Load(),
		TxErrors: d.stats.txErrors.Load(),
	}
}

// Close closes the device: blocked ReadFrames and WriteFrames calls return
// port.ErrClosed and the kernel removes the interface. It is idempotent.
func (d *Device) Close() error {
	d.once.Do(func() {
		d.closed.Store(true)
		if d.file == nil {
			return
		}
		if err := d.file.Close(); err != nil {
			d.errClose = fmt.Errorf("tap %s: close: %w", d.name, err)
		}
	})
	return d.errClose
}

// newInfo derives the port properties of a device.
func newInfo(name string, mtu int, offload bool) port.Info {
	max := mtu + port.EthHdrLen + port.VLANTagLen
	if offload {
		max = port.MaxSuperFrame
	}
	// A TAP write never waits for the namespace's stack: the kernel queues
	// the frame or drops it.
	return port.Info{Name: name, MTU: mtu, Offload: offload, MaxFrame: max, NonBlocking: true}
}
