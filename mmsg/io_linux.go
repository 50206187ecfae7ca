package mmsg

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Sender queues messages and sends them in sendmmsg batches through a
// socket's RawConn. Only one goroutine may use a Sender.
type Sender struct {
	Batch
	rc   syscall.RawConn
	n    int // messages queued
	sent int // messages handed to the kernel or skipped
	res  Result
	fn   func(fd uintptr) bool
}

// Result counts what one Flush did with the queued messages.
type Result struct {
	Sent    int // taken by the kernel
	Dropped int // dropped because the send buffer was full
	Refused int // refused by the kernel (too big, interface down, ...)
}

// NewSender returns a sender of batches of up to n messages on rc, each
// with room for a socket address of nameLen bytes (0: connected or bound
// sockets).
func NewSender(rc syscall.RawConn, n, nameLen int) *Sender {
	s := &Sender{Batch: NewBatch(n, nameLen, 0), rc: rc}
	s.fn = s.write
	return s
}

// Queued returns how many messages are waiting for Flush.
func (s *Sender) Queued() int { return s.n }

// Full reports whether the batch is full: Flush before adding more.
func (s *Sender) Full() bool { return s.n == len(s.Msgs) }

// Add queues buf (not empty, not full: see Full) and returns its message
// index, for SetInet4.
func (s *Sender) Add(buf []byte) int {
	i := s.n
	s.SetBuf(i, buf)
	s.Msgs[i].N = 0
	s.n++
	return i
}

// Flush sends the queued messages without waiting for the socket and
// empties the queue. The error is the RawConn's (the socket is closed).
func (s *Sender) Flush() (Result, error) {
	if s.n == 0 {
		return Result{}, nil
	}
	s.sent, s.res = 0, Result{}
	err := s.rc.Write(s.fn)
	s.n = 0
	return s.res, err
}

// write is the RawConn callback of Flush; it never asks to wait.
func (s *Sender) write(fd uintptr) bool {
	for s.sent < s.n {
		n, errno := send(fd, s.Msgs[s.sent:s.n])
		switch {
		case n > 0:
			s.sent += n
			s.res.Sent += n
		case errno == unix.EINTR:
		case errno == unix.EAGAIN:
			s.res.Dropped += s.n - s.sent
			s.sent = s.n
		default:
			// The first message was refused: skip it, go on.
			s.res.Refused++
			s.sent++
		}
	}
	return true
}

// Receiver receives batches with recvmmsg through a socket's RawConn,
// waiting in Go's poller while nothing is queued. Only one goroutine may
// use a Receiver.
type Receiver struct {
	Batch
	rc  syscall.RawConn
	n   int
	err error
	fn  func(fd uintptr) bool
}

// NewReceiver returns a receiver of batches of up to n messages on rc,
// each with room for a source address of nameLen bytes and ctrlLen bytes
// of control messages.
func NewReceiver(rc syscall.RawConn, n, nameLen, ctrlLen int) *Receiver {
	r := &Receiver{Batch: NewBatch(n, nameLen, ctrlLen), rc: rc}
	r.fn = r.read
	return r
}

// Receive waits for messages and receives up to Len of them into the
// buffers set with SetBuf; message i's byte count is Msgs[i].N. The error
// is the RawConn's (the socket was closed) or recvmmsg's.
func (r *Receiver) Receive() (int, error) {
	r.n, r.err = 0, nil
	err := r.rc.Read(r.fn)
	if err == nil {
		err = r.err
	}
	return r.n, err
}

// read is the RawConn callback of Receive: false asks the poller to wait.
func (r *Receiver) read(fd uintptr) bool {
	for i := range r.Msgs {
		r.reset(i)
	}
	for {
		n, errno := recv(fd, r.Msgs)
		switch {
		case n > 0:
			r.n = n
			return true
		case errno == unix.EINTR:
		case errno == unix.EAGAIN:
			return false
		default:
			r.err = errno
			return true
		}
	}
}

// SetBuffers asks for send and receive buffers of size bytes on fd,
// beyond rmem_max/wmem_max when privileged (SO_*BUFFORCE); failures leave
// the kernel's defaults.
func SetBuffers(fd, size int) {
	for _, o := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], size) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], size)
		}
	}
}
