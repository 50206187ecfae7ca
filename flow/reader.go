package flow

import (
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReadWaiter is a connection that can wait until a Read would not block
// without holding a buffer (netstack connections, see flow/netstack). A
// closed or failed connection is ready: its next Read says why.
type ReadWaiter interface {
	WaitRead() error
}

// Notifier is a ReadWaiter that can also call a function when input may
// have arrived, so a direction waiting for it needs no goroutine at all
// (netstack connections).
type Notifier interface {
	ReadWaiter
	// Readable reports whether a read would not block.
	Readable() bool
	// OnReadable makes f run whenever input may have arrived; f must not
	// block.
	OnReadable(f func())
}

// Reader reads a connection's input one chunk (or one datagram) at a time
// into a pooled buffer. A host socket is read through its raw descriptor
// and a ReadWaiter after waiting, so while waiting for input neither holds
// a buffer; any other stream holds a small one and takes a large one only
// while reads fill it. A Reader is used by one goroutine.
type Reader struct {
	src    net.Conn
	rc     syscall.RawConn
	rw     ReadWaiter
	packet bool
	small  []byte
	big    *[]byte // held from a read that got data to the next that would block
	n      int
	err    error
	fill   func(uintptr) bool
}

// NewReader returns a Reader of src; packet says src carries datagrams
// (an empty read is an empty datagram, not the end of the stream).
func NewReader(src net.Conn, packet bool) *Reader {
	r := &Reader{src: src, packet: packet}
	if rw, ok := src.(ReadWaiter); ok {
		r.rw = rw
	} else if sc, ok := src.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			r.rc = rc
			r.fill = r.readFD
		}
	}
	return r
}

// Next waits for input, reads one chunk and passes it to f; the chunk is
// valid only during f. It returns io.EOF at the end of a stream, the read
// error, or f's error.
func (r *Reader) Next(f func([]byte) error) error {
	switch {
	case r.rc != nil:
		return r.nextRaw(f)
	case r.rw != nil:
		if err := r.rw.WaitRead(); err != nil {
			return err
		}
		return r.nextPooled(f)
	case r.packet:
		return r.nextPooled(f)
	}
	return r.nextStream(f)
}

// nextPooled reads into a large pooled buffer held for this read only.
func (r *Reader) nextPooled(f func([]byte) error) error {
	b := getLarge()
	defer putLarge(b)
	n, err := r.src.Read(*b)
	if n > 0 || (r.packet && err == nil) {
		if ferr := f((*b)[:n]); ferr != nil {
			return ferr
		}
	}
	return err
}

// nextRaw reads a host socket inside its raw Read: the large buffer is
// taken only once the socket has data.
func (r *Reader) nextRaw(f func([]byte) error) error {
	r.n, r.err = 0, nil
	if err := r.rc.Read(r.fill); err != nil {
		r.Release()
		return err
	}
	if r.err != nil {
		r.Release()
		return r.err
	}
	if r.n == 0 && !r.packet {
		r.Release()
		return io.EOF
	}
	return f((*r.big)[:r.n])
}

// readFD is the raw Read callback: false means "wait for input".
func (r *Reader) readFD(fd uintptr) bool {
	if r.big == nil {
		r.big = getLarge()
	}
	for {
		n, err := unix.Read(int(fd), *r.big)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			putLarge(r.big)
			r.big = nil
			return false
		case err != nil:
			r.err = err
		default:
			r.n = n
		}
		return true
	}
}

// nextStream reads a stream that cannot wait without a buffer: into the
// small buffer, or into a large one while reads keep filling what they get.
func (r *Reader) nextStream(f func([]byte) error) error {
	if r.small == nil {
		r.small = make([]byte, SmallBufSize)
	}
	buf := r.small
	if r.big != nil {
		buf = *r.big
	}
	n, err := r.src.Read(buf)
	var ferr error
	if n > 0 {
		ferr = f(buf[:n])
	}
	switch {
	case r.big != nil && n < len(buf):
		putLarge(r.big)
		r.big = nil
	case r.big == nil && n == len(buf):
		r.big = getLarge()
	}
	if ferr != nil {
		return ferr
	}
	return err
}

// Release gives back the buffers the Reader holds; it stays usable.
func (r *Reader) Release() {
	if r.big != nil {
		putLarge(r.big)
		r.big = nil
	}
	r.small = nil
}
