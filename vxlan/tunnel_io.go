package vxlan

import (
	"fmt"

	"github.com/switchyard/switchyard/port"
)

// accept takes a decapsulated frame (f's data is the inner Ethernet frame,
// or a super-frame coalesced from several) from the socket's reader, which
// learned nothing yet. It returns true when the tunnel kept f.
func (t *Tunnel) accept(f *port.Frame, src uint32, now int64) bool {
	d := f.Data()
	if f.Len > t.info.MTU+port.EthHdrLen+port.VLANTagLen && !f.VNet.IsGSO() {
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
	if !f.VNet.IsGSO() {
		clampMSS(d, t.info.MTU-40)
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
// hands queued frames over into fs until it is full or the queue is empty.
// While nothing is queued, the first tunnel reader to find the socket
// without a reader reads it itself (and queues what it receives for the
// other tunnels); the others wait for their queue or for the socket to be
// free again.
func (t *Tunnel) ReadFrames(fs []*port.Frame) (int, error) {
	if len(fs) == 0 {
		return 0, nil
	}
	for {
		select {
		case f := <-t.in:
			return t.take(f, fs), nil
		case <-t.closed:
			return 0, port.ErrClosed
		default:
		}
		if t.s.rdMu.TryLock() {
			err := error(nil)
			if !t.isClosed() {
				err = t.s.readBatch()
			}
			t.s.rdMu.Unlock()
			t.s.wakeOthers(t)
			if err != nil {
				if t.s.isClosed() {
					<-t.closed // the daemon closes its tunnels next
					return 0, port.ErrClosed
				}
				return 0, fmt.Errorf("vxlan %s: receive: %w", t.info.Name, err)
			}
			continue
		}
		select {
		case f := <-t.in:
			return t.take(f, fs), nil
		case <-t.wake:
		case <-t.closed:
			return 0, port.ErrClosed
		}
	}
}

// take hands f and the frames queued behind it to fs, swapping buffers.
func (t *Tunnel) take(f *port.Frame, fs []*port.Frame) int {
	n := 0
	for {
		port.Swap(fs[n], f)
		port.Put(f)
		n++
		if n == len(fs) {
			return n
		}
		select {
		case f = <-t.in:
		default:
			return n
		}
	}
}

// Close detaches the tunnel from its socket and unblocks its reader; the
// socket stays open for other tunnels.
func (t *Tunnel) Close() error {
	t.once.Do(func() {
		t.s.remove(t)
		close(t.closed)
		t.s.kick()
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
