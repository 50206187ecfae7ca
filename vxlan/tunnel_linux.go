package vxlan

import (
	"fmt"

	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// sendBatch is how many datagrams one sendmmsg call carries at most.
const sendBatch = 64

// writer is a tunnel writer's scratch: the messages being built and the
// progress of the sendmmsg loop. Only the port's one writer touches it.
type writer struct {
	b    msgBatch
	n    int // messages filled
	sent int // messages handed to the kernel or skipped
	ok   int // messages the kernel took
	fn   func(fd uintptr) bool
}

func newWriter() writer { return writer{b: newMsgBatch(sendBatch)} }

// WriteFrames encapsulates fs and sends each frame to the VTEP its
// destination MAC lives behind, or to every peer for broadcast, multicast
// and unknown unicast, in sendmmsg batches. The VXLAN header is written
// into each frame's headroom. Frames that cannot go anywhere are counted
// and dropped; it returns len(fs) unless the socket is closed, and never
// waits for the socket.
func (t *Tunnel) WriteFrames(fs []*port.Frame) (int, error) {
	if t.isClosed() {
		return 0, port.ErrClosed
	}
	now := t.cfg.Clock.Now().UnixNano()
	dst := t.s.port
	w := &t.wr
	w.n = 0
	for _, f := range fs {
		d := f.Data()
		if len(d) < port.EthHdrLen || f.Off < HeaderLen {
			t.st.txErrors.Add(1)
			continue
		}
		if t.isLocal(d[6:12]) || t.isLocal(d[0:6]) {
			continue
		}
		pkt := f.Buf()[f.Off-HeaderLen : f.Off+f.Len]
		PutHeader(pkt, t.cfg.VNI)
		t.st.txFrames.Add(1)
		if d[0]&1 == 0 {
			if vtep, ok := t.fdb.lookup(macKey(d), now); ok {
				if err := t.add(pkt, vtep, dst); err != nil {
					return 0, err
				}
				continue
			}
		}
		peers := *t.peers.Load()
		if len(peers) == 0 {
			t.st.txNoPeer.Add(1)
		}
		for _, p := range peers {
			if err := t.add(pkt, p, dst); err != nil {
				return 0, err
			}
		}
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	return len(fs), nil
}

// add queues one datagram, sending the batch when it is full.
func (t *Tunnel) add(pkt []byte, vtep uint32, dst uint16) error {
	w := &t.wr
	if w.n == len(w.b.msgs) {
		if err := t.flush(); err != nil {
			return err
		}
	}
	w.b.set(w.n, pkt, vtep, dst)
	w.n++
	return nil
}

// flush sends the queued datagrams.
func (t *Tunnel) flush() error {
	w := &t.wr
	if w.n == 0 {
		return nil
	}
	w.sent, w.ok = 0, 0
	err := t.s.rc.Write(w.fn)
	t.st.txDatagrams.Add(uint64(w.ok))
	w.n = 0
	if err != nil {
		if t.isClosed() || t.s.isClosed() {
			return port.ErrClosed
		}
		return fmt.Errorf("vxlan %s: send: %w", t.info.Name, err)
	}
	return nil
}

// write is the RawConn callback of flush. It never waits: when the
// socket's send buffer is full the rest of the batch is dropped and
// counted, like a full switch queue (port.Info.NonBlocking), and a datagram
// the kernel refuses is skipped and counted.
func (t *Tunnel) write(fd uintptr) bool {
	w := &t.wr
	for w.sent < w.n {
		n, errno := sendmmsg(fd, w.b.msgs[w.sent:w.n])
		switch {
		case n > 0:
			w.sent += n
			w.ok += n
		case errno == unix.EINTR:
		case errno == unix.EAGAIN:
			t.st.txErrors.Add(uint64(w.n - w.sent))
			w.sent = w.n
		default:
			t.st.txErrors.Add(1)
			w.sent++
		}
	}
	return true
}
