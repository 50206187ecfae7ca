package uplink

import (
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// writer is the link's sendmmsg batch; only its one writer uses it.
type writer = *mmsg.Sender

func newWriter(p *Parent) writer { return mmsg.NewSender(p.rc, p.cfg.Batch, 0) }

// WriteFrames sends fs through the interface in sendmmsg batches, each
// frame with its virtio-net header written into the headroom in front of
// it, so the kernel segments super-frames and completes checksums (in the
// NIC when it can). Frames the kernel refuses are counted and skipped; a
// full send buffer drops the rest of the batch and counts it (the port
// never blocks). It returns len(fs) unless the link or its parent is
// closed.
func (l *Link) WriteFrames(fs []*port.Frame) (int, error) {
	if l.isClosed() || l.p.closed.Load() {
		return 0, port.ErrClosed
	}
	w := l.wr
	for _, f := range fs {
		if f.Off < offload.HdrLen || f.Len < port.EthHdrLen {
			l.st.txErrs.Add(1)
			continue
		}
		b := f.Buf()[f.Off-offload.HdrLen : f.Off+f.Len]
		f.VNet.Encode(b)
		w.Add(b)
		if w.Full() {
			if err := l.flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := l.flush(); err != nil {
		return 0, err
	}
	return len(fs), nil
}

// flush sends the queued frames. A full send buffer drops the rest of
// the batch and counts tx_drops (the port promises never to block, like a
// full switch queue or a TAP); a frame the kernel refuses (too big,
// interface down) counts tx_errors.
func (l *Link) flush() error {
	r, err := l.wr.Flush()
	l.st.txFrames.Add(uint64(r.Sent))
	l.st.txDrops.Add(uint64(r.Dropped))
	l.st.txErrs.Add(uint64(r.Refused))
	if err != nil {
		if l.p.closed.Load() || errors.Is(err, unix.EBADF) {
			return port.ErrClosed
		}
		return fmt.Errorf("uplink %s: send: %w", l.cfg.Name, err)
	}
	return nil
}
