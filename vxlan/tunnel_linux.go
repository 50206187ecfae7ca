package vxlan

import (
	"fmt"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// sendBatch is how many messages one sendmmsg call carries at most.
const sendBatch = 64

// writer is a tunnel writer's scratch: a sendmmsg batch per source port,
// the GSO state, and the unicast destination. Only the port's one writer
// touches it.
type writer struct {
	tx  []*mmsg.Sender
	g   gsoWriter
	one [1]uint32
}

func newWriter(s *Socket) writer {
	w := writer{g: newGSOWriter(len(s.senders))}
	for _, x := range s.senders {
		w.tx = append(w.tx, mmsg.NewSender(x.rc, sendBatch, unix.SizeofSockaddrInet4))
	}
	return w
}

// WriteFrames encapsulates fs and sends each frame to the VTEP its
// destination MAC lives behind, or to every peer for broadcast, multicast
// and unknown unicast, in sendmmsg batches. The VXLAN header is written
// into each frame's headroom; TCP super-frames are segmented into UDP GSO
// sends (addSuper), partial checksums completed and SYNs' MSS clamped.
// ARP requests for remote endpoints known from the store are answered
// here. Frames that cannot go anywhere are counted and dropped; it returns
// len(fs) unless the socket is closed, and never waits for the socket.
func (t *Tunnel) WriteFrames(fs []*port.Frame) (int, error) {
	if t.isClosed() {
		return 0, port.ErrClosed
	}
	now := t.cfg.Clock.Now().UnixNano()
	dst := t.s.port
	w := &t.wr
	for _, f := range fs {
		d := f.Data()
		if len(d) < port.EthHdrLen || f.Off < HeaderLen {
			t.st.txErrors.Add(1)
			continue
		}
		if t.isLocal(d[6:12]) || t.isLocal(d[0:6]) || !t.complete(f) || d[0]&1 != 0 && t.answerARP(d) {
			continue
		}
		t.st.txFrames.Add(1)
		vteps := *t.peers.Load()
		if d[0]&1 == 0 {
			if vtep, ok := t.fdb.lookup(macKey(d), now); ok {
				w.one[0] = vtep
				vteps = w.one[:]
			}
		}
		if len(vteps) == 0 {
			t.st.txNoPeer.Add(1)
			continue
		}
		if err := t.addFrame(f, vteps, dst, flowHash(d)); err != nil {
			return 0, err
		}
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	return len(fs), nil
}

// complete readies a frame's offload work: checksums are completed, frames
// too large for the MTU that are not super-frames are dropped, and SYNs get
// their MSS clamped to the MTU.
func (t *Tunnel) complete(f *port.Frame) bool {
	if f.VNet.IsGSO() {
		return true
	}
	if f.VNet.Flags&offload.FlagNeedsCsum != 0 {
		if err := offload.Checksum(&f.VNet, f.Data()); err != nil {
			t.st.txErrors.Add(1)
			return false
		}
	}
	f.VNet = offload.Hdr{}
	if f.Len-port.EthHdrLen > t.info.MTU+port.VLANTagLen {
		t.st.txErrors.Add(1)
		return false
	}
	clampMSS(f.Data(), t.info.MTU-40)
	return true
}

// addFrame queues f for each of vteps, from the source port of flow hash h.
func (t *Tunnel) addFrame(f *port.Frame, vteps []uint32, dst uint16, h uint32) error {
	if f.VNet.IsGSO() {
		return t.addSuper(f, vteps, dst, h)
	}
	pkt := f.Buf()[f.Off-HeaderLen : f.Off+f.Len]
	PutHeader(pkt, t.cfg.VNI)
	for _, v := range vteps {
		if err := t.addSeg(pkt, v, dst, 0, 1, h); err != nil {
			return err
		}
	}
	return nil
}

// flush sends the queued datagrams and frees the scratch buffer.
func (t *Tunnel) flush() error {
	err := t.flushMsgs()
	t.wr.g.used = 0
	return err
}

// flushMsgs sends the queued messages of every source port. It never
// waits: when a socket's send buffer is full the rest of its batch is
// dropped, like a full switch queue (port.Info.NonBlocking), and a message
// the kernel refuses is skipped; both count tx errors.
func (t *Tunnel) flushMsgs() error {
	var first error
	for i, tx := range t.wr.tx {
		q := tx.Queued()
		if q == 0 {
			continue
		}
		r, err := tx.Flush()
		dg := 0
		for j := range q {
			if tx.Msgs[j].N > 0 {
				dg += t.wr.g.dgrams[i][j]
			}
		}
		t.st.txDatagrams.Add(uint64(dg))
		t.st.txErrors.Add(uint64(r.Dropped + r.Refused))
		if err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		if t.isClosed() || t.s.isClosed() {
			return port.ErrClosed
		}
		return fmt.Errorf("vxlan %s: send: %w", t.info.Name, first)
	}
	return nil
}
