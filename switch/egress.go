package vswitch

import (
	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// egress holds a writer's scratch slices, reused for every batch so the
// write path allocates nothing in steady state.
type egress struct {
	in    []*port.Frame
	out   []*port.Frame
	segs  []*port.Frame
	bufs  [][]byte
	sizes []int
}

// writeLoop writes the port's queue whenever a reader could not do it
// inline (the port blocks, another goroutine was writing it, or frames were
// left after a reader's bounded drain).
func (ps *portState) writeLoop() {
	defer ps.wg.Done()
	for {
		select {
		case <-ps.kick:
		case <-ps.done:
			return
		}
		ps.wmu.Lock()
		ps.drain(-1)
		ps.wmu.Unlock()
	}
}

// flushOrKick writes the queued frames from the calling goroutine when the
// port never blocks and nobody is writing it, at most what is queued now
// (a reader must not be held by other ports' traffic); anything left, or a
// busy port, wakes the writer. Every frame queued before the call is
// written by one of the two, in queue order, because draining only happens
// under wmu.
func (ps *portState) flushOrKick() {
	if ps.info.NonBlocking && ps.wmu.TryLock() {
		ps.drain(len(ps.q))
		ps.wmu.Unlock()
		if len(ps.q) == 0 {
			return
		}
	}
	ps.kickWriter()
}

func (ps *portState) kickWriter() {
	select {
	case ps.kick <- struct{}{}:
	default:
	}
}

// drain writes up to max queued frames (all of them when max < 0) in
// batches; wmu must be held.
func (ps *portState) drain(max int) {
	w := ps.w
	for max != 0 {
	fill:
		for len(w.in) < cap(w.in) && len(w.in) != max {
			select {
			case f := <-ps.q:
				w.in = append(w.in, f)
			default:
				break fill
			}
		}
		if len(w.in) == 0 {
			return
		}
		if max > 0 {
			max -= len(w.in)
		}
		ps.flush(w)
	}
}

// flush prepares and writes one batch, then returns every buffer to the pool.
func (ps *portState) flush(w *egress) {
	w.out = w.out[:0]
	for _, f := range w.in {
		ps.prepare(w, f)
	}
	ps.sw.observe(ps, Out, w.out)
	n, err := ps.p.WriteFrames(w.out)
	var bytes uint64
	for _, f := range w.out[:n] {
		bytes += uint64(f.Len)
	}
	ps.c.txFrames.Add(uint64(n))
	ps.c.txBytes.Add(bytes)
	if n < len(w.out) {
		ps.c.errs.Add(uint64(len(w.out) - n))
		if err != nil && ps.alive.Load() {
			ps.sw.cfg.Log.Debug("port write failed", "switch", ps.sw.cfg.Name, "port", ps.info.Name, "err", err)
		}
	}
	for i, f := range w.out {
		port.Put(f)
		w.out[i] = nil
	}
	for i := range w.in {
		w.in[i] = nil
	}
	w.in = w.in[:0]
}

// prepare appends f, or the segments it becomes, to w.out. A port without
// offloads gets complete checksums and MTU-sized frames; trunks get tags.
func (ps *portState) prepare(w *egress, f *port.Frame) {
	if !ps.info.Offload {
		if f.VNet.IsGSO() {
			ps.segment(w, f)
			return
		}
		if f.VNet.Flags&offload.FlagNeedsCsum != 0 {
			if err := offload.Checksum(&f.VNet, f.Data()); err != nil {
				ps.drop(f)
				return
			}
		}
		f.VNet = offload.Hdr{}
		if f.Len-port.EthHdrLen > ps.info.MTU {
			ps.drop(f)
			return
		}
	}
	ps.tag(f)
	w.out = append(w.out, f)
}

// segment splits a super-frame into frames the port's MTU allows.
func (ps *portState) segment(w *egress, f *port.Frame) {
	n := offload.SegmentCount(&f.VNet, f.Data(), ps.info.MTU)
	if n <= 0 {
		ps.drop(f)
		return
	}
	w.segs, w.bufs = w.segs[:0], w.bufs[:0]
	for range n {
		sf := port.Get(ps.info.MTU + port.EthHdrLen + port.VLANTagLen)
		sf.VLAN = f.VLAN
		w.segs = append(w.segs, sf)
		w.bufs = append(w.bufs, sf.Space())
	}
	if cap(w.sizes) < n {
		w.sizes = make([]int, n)
	}
	k, err := offload.Segment(&f.VNet, f.Data(), ps.info.MTU, w.bufs, w.sizes[:n])
	if err != nil {
		k = 0
		ps.c.errs.Add(1)
	}
	for i, sf := range w.segs {
		if i < k {
			sf.Len = w.sizes[i]
			ps.tag(sf)
			w.out = append(w.out, sf)
		} else {
			port.Put(sf)
		}
		w.segs[i] = nil
	}
	port.Put(f)
}

// drop frees a frame the port cannot send and counts it as an error.
func (ps *portState) drop(f *port.Frame) {
	ps.c.errs.Add(1)
	port.Put(f)
}
