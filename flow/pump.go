package flow

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
)

// Pump states.
const (
	pumpIdle int32 = iota
	pumpRunning
	pumpDone
)

// pump reads a Notifier source without a goroutine of its own while the
// source has no input: each notification starts one (unless one runs)
// that reads until a read would block, then ends.
type pump struct {
	src   Notifier
	r     *Reader
	f     func([]byte) error
	retry func(error) bool
	end   func(error)
	state atomic.Int32
}

// Pump calls f with each chunk (each datagram when packet) that c
// delivers, on short-lived goroutines started by c's readiness
// notifications, so that waiting for input costs no goroutine and no
// buffer. A read error for which retry (if not nil) reports true is
// skipped; any other error, or f's, ends the pump: end runs once with it
// (nil at the end of a stream). Pump reports false, and does nothing,
// when c is not a Notifier.
func Pump(c net.Conn, packet bool, f func([]byte) error, retry func(error) bool, end func(error)) bool {
	src, ok := c.(Notifier)
	if !ok {
		return false
	}
	p := &pump{src: src, r: NewReader(c, packet), f: f, retry: retry, end: end}
	src.OnReadable(p.kick)
	p.kick()
	return true
}

// kick runs the pump unless it runs already or is done.
func (p *pump) kick() {
	if p.state.CompareAndSwap(pumpIdle, pumpRunning) {
		go p.run()
	}
}

// run reads while the source is readable; it gives the pump back to
// idle (and checks again, as input may have arrived meanwhile).
func (p *pump) run() {
	for {
		for p.src.Readable() {
			// Readable already: read without waiting again.
			if err := p.r.nextPooled(p.f); err != nil && (p.retry == nil || !p.retry(err)) {
				p.finish(err)
				return
			}
		}
		p.state.Store(pumpIdle)
		if !p.src.Readable() || !p.state.CompareAndSwap(pumpIdle, pumpRunning) {
			return
		}
	}
}

// finish ends the pump once.
func (p *pump) finish(err error) {
	p.state.Store(pumpDone)
	p.src.OnReadable(func() {})
	p.r.Release()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	p.end(err)
}

// startPump copies src to dst by a Pump; the channel is closed when the
// direction has ended (as oneWay ends it).
func startPump(dst, src net.Conn, n *atomic.Uint64) <-chan struct{} {
	if n == nil {
		n = new(atomic.Uint64)
	}
	done := make(chan struct{})
	w := countingWriter{dst: dst, n: n}
	Pump(src, false, w.write, nil, func(err error) {
		endDirection(dst, src, err)
		close(done)
	})
	return done
}
