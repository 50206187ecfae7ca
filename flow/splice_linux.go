package flow

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked of a splice pipe (pages are taken only
// while data is in it).
const pipeSize = 1 << 20

// pipe is a splice pipe: its descriptors are closed when it is collected.
type pipe struct {
	r, w int
	n    int // bytes in the pipe
}

// pipes is shared by every spliced direction; a direction holds a pipe
// only from a read that got data until the next read would block.
var pipes = sync.Pool{New: func() any {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return (*pipe)(nil)
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	p := &pipe{r: fds[0], w: fds[1]}
	runtime.AddCleanup(p, func(fds [2]int) {
		unix.Close(fds[0])
		unix.Close(fds[1])
	}, fds)
	return p
}}

// splicer moves one direction's bytes src → pipe → dst.
type splicer struct {
	p     *pipe
	n     int
	err   error
	fill  func(uintptr) bool
	drain func(uintptr) bool
}

var errNoPipe = errors.New("flow: no pipe for splice")

// spliceConns copies src to dst by splice when both are host TCP sockets;
// ok is false when it did not apply (nothing was read).
func spliceConns(dst, src net.Conn, cnt *atomic.Uint64) (err error, ok bool) {
	st, ok1 := src.(*net.TCPConn)
	dt, ok2 := dst.(*net.TCPConn)
	if !ok1 || !ok2 {
		return nil, false
	}
	rs, err1 := st.SyscallConn()
	rd, err2 := dt.SyscallConn()
	if err1 != nil || err2 != nil {
		return nil, false
	}
	s := &splicer{}
	s.fill, s.drain = s.fillFD, s.drainFD
	defer s.release()
	for first := true; ; first = false {
		s.n, s.err = 0, nil
		if err := rs.Read(s.fill); err != nil {
			return err, true
		}
		if errors.Is(s.err, errNoPipe) && first {
			return nil, false // out of descriptors: copy through buffers
		}
		if s.err != nil {
			return s.err, true
		}
		if s.n == 0 {
			return nil, true // EOF
		}
		s.p.n = s.n
		if err := rd.Write(s.drain); err != nil {
			return err, true
		}
		if s.err != nil {
			return s.err, true
		}
		cnt.Add(uint64(s.n))
	}
}

// fillFD splices what the socket has into the pipe (taking one first);
// false means "wait for input", and the pipe goes back to the pool.
func (s *splicer) fillFD(fd uintptr) bool {
	if s.p == nil {
		s.p = pipes.Get().(*pipe)
		if s.p == nil {
			s.err = errNoPipe
			return true
		}
	}
	for {
		n, err := unix.Splice(int(fd), nil, s.p.w, nil, pipeSize, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			pipes.Put(s.p)
			s.p = nil
			return false
		case err != nil:
			s.err = err
		default:
			s.n = int(n)
		}
		return true
	}
}

// drainFD splices the pipe's bytes to the socket; false means "wait
// until it can take more".
func (s *splicer) drainFD(fd uintptr) bool {
	for s.p.n > 0 {
		n, err := unix.Splice(s.p.r, nil, int(fd), nil, s.p.n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return false
		case err != nil:
			s.err = err
			return true
		}
		s.p.n -= int(n)
	}
	return true
}

// release gives an empty pipe back; one with bytes left is dropped.
func (s *splicer) release() {
	if s.p != nil && s.p.n == 0 {
		pipes.Put(s.p)
	}
	s.p = nil
}
