package vxlan

import (
	"fmt"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// sendBatch is how many datagrams one sendmmsg call carries at most.
const sendBatch = 64

// writer is the tunnel's sendmmsg batch; only its one writer uses it.
type writer = *mmsg.Sender

func newWriter(s *Socket) writer { return mmsg.NewSender(s.rc, sendBatch, unix.SizeofSockaddrInet4) }

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
	if t.wr.Full() {
		if err := t.flush(); err != nil {
			return err
		}
	}
	t.wr.SetInet4(t.wr.Add(pkt), vtep, dst)
	return nil
}

// flush sends the queued datagrams. It never waits: when the socket's
// send buffer is full the rest of the batch is dropped, like a full switch
// queue (port.Info.NonBlocking), and a datagram the kernel refuses is
// skipped; both count tx errors.
func (t *Tunnel) flush() error {
	r, err := t.wr.Flush()
	t.st.txDatagrams.Add(uint64(r.Sent))
	t.st.txErrors.Add(uint64(r.Dropped + r.Refused))
	if err != nil {
		if t.isClosed() || t.s.isClosed() {
			return port.ErrClosed
		}
		return fmt.Errorf("vxlan %s: send: %w", t.info.Name, err)
	}
	return nil
}
