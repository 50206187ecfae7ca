package flow

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Relay copies a→b and b→a until both directions have ended, then closes
// both connections; aToB and bToA count the bytes copied each way (nil:
// not counted). A direction that ends with EOF half-closes its
// destination (CloseWrite: the peer reads EOF and may still send); one
// that fails closes both connections, and a reset is passed on as a reset.
// Relay runs one direction on the calling goroutine; the other runs on a
// new goroutine, or, when its source is a Notifier, on short-lived
// goroutines started when input arrives (an idle connection then has one
// goroutine, not two).
func Relay(a, b net.Conn, aToB, bToA *atomic.Uint64) {
	flowStarted()
	defer flowEnded()
	var done <-chan struct{}
	switch {
	case isNotifier(a):
		done = startPump(b, a, aToB)
		oneWay(a, b, bToA)
	case isNotifier(b):
		done = startPump(a, b, bToA)
		oneWay(b, a, aToB)
	default:
		ch := make(chan struct{})
		go func() {
			defer close(ch)
			oneWay(b, a, aToB)
		}()
		done = ch
		oneWay(a, b, bToA)
	}
	<-done
	a.Close()
	b.Close()
}

func isNotifier(c net.Conn) bool {
	_, ok := c.(Notifier)
	return ok
}

// oneWay copies src to dst and ends that direction.
func oneWay(dst, src net.Conn, n *atomic.Uint64) {
	if n == nil {
		n = new(atomic.Uint64)
	}
	endDirection(dst, src, Copy(dst, src, n))
}

// endDirection ends a direction that stopped with err (nil: EOF): a
// half-close, or both connections closed, with a reset passed on.
func endDirection(dst, src net.Conn, err error) {
	if err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			return
		}
	}
	if IsReset(err) {
		if l, ok := dst.(interface{ SetLinger(int) error }); ok {
			l.SetLinger(0) // close with RST, as the peer did
		}
	}
	dst.Close()
	src.Close()
}

// Copy copies src to dst until src's EOF (nil) or an error, adding the
// bytes copied to n as it goes: by splice(2) between two host TCP
// sockets, else through a Reader.
func Copy(dst, src net.Conn, n *atomic.Uint64) error {
	if err, ok := spliceConns(dst, src, n); ok {
		return err
	}
	r := NewReader(src, false)
	defer r.Release()
	w := countingWriter{dst: dst, n: n}
	for {
		if err := r.Next(w.write); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// countingWriter writes chunks to dst and counts them.
type countingWriter struct {
	dst net.Conn
	n   *atomic.Uint64
}

func (w countingWriter) write(b []byte) error {
	k, err := w.dst.Write(b)
	w.n.Add(uint64(k))
	return err
}

// IsReset reports whether err says the peer reset the connection (host
// sockets: ECONNRESET; netstack: its error text).
func IsReset(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "connection reset by peer"))
}

// SetKeepAlive turns TCP keepalive on c on with period d, or off when
// d < 0; connections without keepalive are left alone.
func SetKeepAlive(c net.Conn, d time.Duration) {
	switch c := c.(type) {
	case *net.TCPConn:
		if d < 0 {
			c.SetKeepAlive(false)
			return
		}
		c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: d, Interval: d})
	case interface{ SetKeepAlive(bool) error }:
		c.SetKeepAlive(d >= 0)
	}
}
