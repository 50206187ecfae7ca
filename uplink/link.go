package uplink

import (
	"sync"
	"sync/atomic"

	"github.com/switchyard/switchyard/port"
)

// Link is the port of one VLAN on a Parent: frames of that VLAN received
// on the interface are read from it (tagged, for a VLAN other than 0), and
// frames written to it leave through the interface as they are, so a
// tagged link belongs on a switch trunk port that allows its VLAN.
type Link struct {
	p      *Parent
	cfg    LinkConfig
	info   port.Info
	in     chan *port.Frame
	closed chan struct{}
	once   sync.Once
	wr     writer
	st     linkCounters
}

var _ port.Port = (*Link)(nil)

// linkCounters are written by the parent's reader (rx*) and the link's
// writer (tx*).
type linkCounters struct {
	rxFrames, rxDrops atomic.Uint64
	_                 [48]byte
	txFrames, txErrs  atomic.Uint64
	txDrops           atomic.Uint64
}

func newLink(p *Parent, cfg LinkConfig) *Link {
	l := &Link{p: p, cfg: cfg, in: make(chan *port.Frame, p.cfg.QueueLen), closed: make(chan struct{})}
	l.info = port.Info{Name: cfg.Name, MTU: p.mtu, Offload: true, MaxFrame: port.MaxSuperFrame, NonBlocking: true}
	l.wr = newWriter(p)
	return l
}

// VLAN returns the VLAN the link carries (0: untagged).
func (l *Link) VLAN() uint16 { return l.cfg.VLAN }

// Info describes the port: the interface's MTU, offloads accepted (the
// kernel segments super-frames for the interface if it cannot), frames
// up to a TSO super-frame, and writes that never wait (the switch writes
// from the ingress port's goroutine when the link is idle, saving a
// goroutine hand-off; a full send buffer drops and counts).
func (l *Link) Info() port.Info { return l.info }

// Stats returns the link's counters.
func (l *Link) Stats() LinkStats {
	return LinkStats{RxFrames: l.st.rxFrames.Load(), RxDrops: l.st.rxDrops.Load(),
		TxFrames: l.st.txFrames.Load(), TxErrors: l.st.txErrs.Load(), TxDrops: l.st.txDrops.Load()}
}

// accept queues a frame from the parent's reader; it returns false (and
// counts the drop) when the queue is full or the link closed.
func (l *Link) accept(f *port.Frame) bool {
	select {
	case l.in <- f:
		l.st.rxFrames.Add(1)
		return true
	default:
		l.st.rxDrops.Add(1)
		return false
	}
}

// ReadFrames blocks until at least one frame is queued, then moves queued
// frames into fs (by swapping buffers, without copying) until fs is full
// or the queue is empty.
func (l *Link) ReadFrames(fs []*port.Frame) (int, error) {
	if len(fs) == 0 {
		return 0, nil
	}
	var f *port.Frame
	select {
	case f = <-l.in:
	case <-l.closed:
		return 0, port.ErrClosed
	}
	n := 0
	for {
		port.Swap(fs[n], f)
		port.Put(f)
		n++
		if n == len(fs) {
			return n, nil
		}
		select {
		case f = <-l.in:
		default:
			return n, nil
		}
	}
}

// Close detaches the link from its parent and unblocks its reader; the
// parent stays open for its other links.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.p.remove(l)
		close(l.closed)
		for {
			select {
			case f := <-l.in:
				port.Put(f)
			default:
				return
			}
		}
	})
	return nil
}

func (l *Link) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}
