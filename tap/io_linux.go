package tap

import (
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// errOffset is returned when a frame has no room for the virtio-net header
// in front of its data (Frame.Off < offload.HdrLen).
var errOffset = errors.New("frame offset leaves no room for the virtio-net header")

// ReadFrames blocks until at least one frame arrives, then keeps reading
// without blocking until the device has nothing more or fs is full, and
// returns the number of frames filled. Each frame is read at fs[i].Off; in
// fast mode the virtio-net header goes to the 10 bytes in front of it and
// is decoded into fs[i].VNet. Frames shorter than an Ethernet header, and
// frames that fill their buffer to the last byte (the kernel truncates
// without telling, so they may be partial), are dropped and counted in
// Stats().RxErrors. Buffers sized by Info().MaxFrame leave room for every
// frame the kernel produces in practice: a TCP super-frame stays below
// 64 KiB of IP packet.
func (d *Device) ReadFrames(fs []*port.Frame) (int, error) {
	if d.closed.Load() {
		return 0, port.ErrClosed
	}
	if len(fs) == 0 {
		return 0, nil
	}
	r := &d.rd
	r.fs, r.n, r.err = fs, 0, nil
	err := d.rc.Read(r.readFn)
	n := r.n
	if rerr := r.err; rerr != nil && err == nil {
		err = fmt.Errorf("tap %s: read: %w", d.name, rerr)
	}
	r.fs, r.err = nil, nil
	d.stats.rxFrames.Add(uint64(n))
	if n > 0 {
		// A lasting error shows up again on the next call.
		return n, nil
	}
	if d.closed.Load() {
		return 0, port.ErrClosed
	}
	return 0, err
}

// read is the RawConn callback of ReadFrames; it returns false to wait for
// the device to become readable.
func (d *Device) read(fd uintptr) bool {
	r := &d.rd
	for r.n < len(r.fs) {
		f := r.fs[r.n]
		start := f.Off
		if d.vnet {
			start -= offload.HdrLen
			if start < 0 {
				r.err = errOffset
				return true
			}
		}
		b := f.Buf()[start:]
		n, err := unix.Read(int(fd), b)
		switch err {
		case nil:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return r.n > 0
		case unix.EFAULT, unix.EINVAL, unix.EMSGSIZE:
			// The kernel consumed a frame it could not deliver.
			d.stats.rxErrors.Add(1)
			continue
		case unix.EBADFD:
			// The interface is gone: its namespace was deleted. Reading
			// again would fail forever, so report the port closed.
			r.err = fmt.Errorf("interface gone: %w", port.ErrClosed)
			return true
		default:
			r.err = err
			return true
		}
		if n >= len(b) {
			// The kernel truncates a frame that does not fit and reports
			// only the bytes copied: a full buffer may hold a partial frame.
			d.stats.rxErrors.Add(1)
			continue
		}
		if d.vnet {
			if n < offload.HdrLen+port.EthHdrLen {
				d.stats.rxErrors.Add(1)
				continue
			}
			_ = f.VNet.Decode(b[:offload.HdrLen])
			n -= offload.HdrLen
		} else {
			if n < port.EthHdrLen {
				d.stats.rxErrors.Add(1)
				continue
			}
			f.VNet = offload.Hdr{}
		}
		f.Len = n
		r.n++
	}
	return true
}

// WriteFrames writes fs in order, one write(2) per frame, and returns how
// many the kernel took. In fast mode each frame's VNet is encoded into the
// 10 bytes in front of its data (the frame's headroom is overwritten). A
// frame the kernel refuses is counted in Stats().TxErrors and skipped; a
// full device send buffer (EAGAIN) drops the frame and counts it: the port
// never blocks (port.Info.NonBlocking).
func (d *Device) WriteFrames(fs []*port.Frame) (int, error) {
	if d.closed.Load() {
		return 0, port.ErrClosed
	}
	if len(fs) == 0 {
		return 0, nil
	}
	w := &d.wr
	w.fs, w.i, w.n, w.err = fs, 0, 0, nil
	err := d.rc.Write(w.writeFn)
	n := w.n
	if werr := w.err; werr != nil && err == nil {
		err = fmt.Errorf("tap %s: write: %w", d.name, werr)
	}
	w.fs, w.err = nil, nil
	d.stats.txFrames.Add(uint64(n))
	if err != nil && d.closed.Load() {
		err = port.ErrClosed
	}
	return n, err
}

// write is the RawConn callback of WriteFrames; it returns false to wait
// for the device to become writable, then resumes with the same frame.
func (d *Device) write(fd uintptr) bool {
	w := &d.wr
	for w.i < len(w.fs) {
		f := w.fs[w.i]
		var b []byte
		if d.vnet {
			start := f.Off - offload.HdrLen
			if start < 0 {
				d.stats.txErrors.Add(1)
				w.i++
				continue
			}
			b = f.Buf()[start : f.Off+f.Len]
			f.VNet.Encode(b)
		} else {
			b = f.Data()
		}
		_, err := unix.Write(int(fd), b)
		switch err {
		case nil:
			w.n++
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			// The device's send buffer is full. The port promises never to
			// block (port.Info.NonBlocking): drop and count, like a full
			// switch queue.
			d.stats.txErrors.Add(1)
		case unix.EBADFD:
			// The interface is gone (deleted from under us).
			w.err = err
			return true
		default:
			d.stats.txErrors.Add(1)
		}
		w.i++
	}
	return true
}
