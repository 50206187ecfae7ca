package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// spliceChunk bounds one splice-backed ReadFrom, so that the byte counters
// move during a long transfer: a spliced direction's bytes are counted
// every spliceChunk and when the direction ends.
const spliceChunk = 1 << 20

// copyBufSize is the buffer of a copy that cannot splice.
const copyBufSize = 64 << 10

var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, copyBufSize)
	return &b
}}

// relay copies a→b and b→a until both directions have ended, then closes
// both connections. A direction that ends with EOF half-closes the other
// side (CloseWrite: the peer reads EOF and may still send); a direction
// that fails closes both connections, and a reset is passed on as a reset.
func relay(a, b net.Conn, aToB, bToA *atomic.Uint64) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		oneWay(b, a, aToB)
	}()
	oneWay(a, b, bToA)
	<-done
	a.Close()
	b.Close()
}

// oneWay copies src to dst and ends that direction.
func oneWay(dst, src net.Conn, n *atomic.Uint64) {
	err := copyCounted(dst, src, n)
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			return
		}
	}
	if errors.Is(err, syscall.ECONNRESET) {
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST, as the peer did
		}
	}
	dst.Close()
	src.Close()
}

// copyCounted copies src to dst until EOF (nil) or an error, adding the
// bytes copied to n as it goes. Between two *net.TCPConn it uses
// (*net.TCPConn).ReadFrom, which splices on Linux.
func copyCounted(dst, src net.Conn, n *atomic.Uint64) error {
	dt, ok1 := dst.(*net.TCPConn)
	st, ok2 := src.(*net.TCPConn)
	if ok1 && ok2 {
		lr := io.LimitedReader{R: st}
		for {
			lr.N = spliceChunk
			k, err := dt.ReadFrom(&lr)
			n.Add(uint64(k))
			if err != nil {
				return err
			}
			if k == 0 {
				return nil // EOF
			}
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			w, werr := dst.Write(buf[:k])
			n.Add(uint64(w))
			if werr != nil {
				return werr
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
