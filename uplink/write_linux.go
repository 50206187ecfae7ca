package uplink

import (
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// writer is a link writer's scratch: the messages of the batch being sent
// and the progress of the sendmmsg loop. Only the link's one writer
// touches it.
type writer struct {
	msgs []mmsghdr
	iovs []unix.Iovec
	n    int // messages filled
	sent int // messages handed to the kernel or skipped
	ok   int // messages the kernel took
	fn   func(fd uintptr) bool
}

func newWriter(batch int) writer {
	w := writer{msgs: make([]mmsghdr, batch), iovs: make([]unix.Iovec, batch)}
	for i := range w.msgs {
		w.msgs[i].hdr.Iov = &w.iovs[i]
		w.msgs[i].hdr.SetIovlen(1)
	}
	return w
}

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
	w := &l.wr
	w.n = 0
	for _, f := range fs {
		if f.Off < offload.HdrLen || f.Len < port.EthHdrLen {
			l.st.txErrs.Add(1)
			continue
		}
		b := f.Buf()[f.Off-offload.HdrLen : f.Off+f.Len]
		f.VNet.Encode(b)
		w.iovs[w.n].Base = &b[0]
		w.iovs[w.n].SetLen(len(b))
		w.n++
		if w.n == len(w.msgs) {
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

// flush sends the filled messages.
func (l *Link) flush() error {
	w := &l.wr
	if w.n == 0 {
		return nil
	}
	w.sent, w.ok = 0, 0
	err := l.p.rc.Write(w.fn)
	l.st.txFrames.Add(uint64(w.ok))
	w.n = 0
	if err != nil {
		if l.p.closed.Load() || errors.Is(err, unix.EBADF) {
			return port.ErrClosed
		}
		return fmt.Errorf("uplink %s: send: %w", l.cfg.Name, err)
	}
	return nil
}

// write is the RawConn callback of flush; it never waits.
func (l *Link) write(fd uintptr) bool {
	w := &l.wr
	for w.sent < w.n {
		n, errno := sendmmsg(fd, w.msgs[w.sent:w.n])
		switch {
		case n > 0:
			w.sent += n
			w.ok += n
		case errno == unix.EINTR:
		case errno == unix.EAGAIN:
			// The send buffer is full. The port promises never to block
			// (port.Info.NonBlocking): drop and count, like a full
			// switch queue or a TAP.
			l.st.txDrops.Add(uint64(w.n - w.sent))
			w.sent = w.n
		default:
			// The first message was refused (too big, interface down):
			// count it and go on with the next.
			l.st.txErrs.Add(1)
			w.sent++
		}
	}
	return true
}
