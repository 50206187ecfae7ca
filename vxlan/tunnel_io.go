package vxlan

import (
	"github.com/switchyard/switchyard/port"
)

// accept takes a decapsulated frame (f's data is the inner Ethernet frame)
// from the socket's reader, which learned nothing yet. It returns true
// when the tunnel kept f; the reader then needs a fresh buffer.
func (t *Tunnel) accept(f *port.Frame, src uint32, now int64) bool {
	d := f.Data()
	if f.Len > t.info.MaxFrame {
		t.st.rxDrops.Add(1)
		return false
	}
	if d[6]&1 != 0 || t.isLocal(d[6:12]) || t.isLocal(d[0:6]) {
		// A multicast source is invalid; the anycast gateway's frames
		// belong to each host alone.
		t.st.rxFiltered.Add(1)
		return false
	}
	if src != 0 {
		t.fdb.learn(macKey(d[6:12]), src, now)
	}
	select {
	case t.in <- f:
		t.st.rxFrames.Add(1)
		return true
	default:
		t.st.rxDrops.Add(1)
		return false
	}
}

// ReadFrames blocks until at least one decapsulated frame is queued, then
// copies queued frames into fs until it is full or the queue is empty.
func (t *Tunnel) ReadFrames(fs []*port.Frame) (int, error) {
	if len(fs) == 0 {
		return 0, nil
	}
	var f *port.Frame
	select {
	case f = <-t.in:
	case <-t.closed:
		return 0, port.ErrClosed
	}
	n := 0
	for {
		g := fs[n]
		g.SetData(f.Data())
		g.VNet = f.VNet
		port.Put(f)
		n++
		if n == len(fs) {
			return n, nil
		}
		select {
		case f = <-t.in:
		default:
			return n, nil
		}
	}
}

// Close detaches the tunnel from its socket and unblocks its reader; the
// socket stays open for other tunnels.
func (t *Tunnel) Close() error {
	t.once.Do(func() {
		t.s.remove(t)
		close(t.closed)
		t.wg.Wait()
		for {
			select {
			case f := <-t.in:
				port.Put(f)
			default:
				return
			}
		}
	})
	return nil
}

// isClosed reports whether Close was called.
func (t *Tunnel) isClosed() bool {
	select {
	case <-t.closed:
		return true
	default:
		return false
	}
}
