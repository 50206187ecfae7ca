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

// pump copies a Notifier source to dst without a goroutine of its own
// while the source has no input: each notification starts one (unless
// one runs) that copies until a read would block, then ends.
type pump struct {
	dst   net.Conn
	src   Notifier
	srcC  net.Conn
	r     *Reader
	w     countingWriter
	state atomic.Int32
	done  chan struct{}
}

// startPump starts copying src to dst; the channel is closed when the
// direction has ended (as oneWay ends it).
func startPump(dst net.Conn, src Notifier, srcC net.Conn, n *atomic.Uint64) <-chan struct{} {
	if n == nil {
		n = new(atomic.Uint64)
	}
	p := &pump{dst: dst, src: src, srcC: srcC, r: NewReader(srcC, false), w: countingWriter{dst: dst, n: n}, done: make(chan struct{})}
	src.OnReadable(p.kick)
	p.kick()
	return p.done
}

// kick runs the pump unless it runs already or is done.
func (p *pump) kick() {
	if p.state.CompareAndSwap(pumpIdle, pumpRunning) {
		go p.run()
	}
}

// run copies while the source is readable; it gives the pump back to
// idle (and checks again, as input may have arrived meanwhile).
func (p *pump) run() {
	for {
		for p.src.Readable() {
			if err := p.r.Next(p.w.write); err != nil {
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

// finish ends the direction once.
func (p *pump) finish(err error) {
	p.state.Store(pumpDone)
	p.src.OnReadable(func() {})
	p.r.Release()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	endDirection(p.dst, p.srcC, err)
	close(p.done)
}
