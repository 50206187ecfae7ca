package vswitch

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/port"
)

// portState is the switch's side of one port: its VLAN role, egress queue,
// counters and the two goroutines that move its frames.
type portState struct {
	sw    *Switch
	id    PortID
	p     port.Port
	info  port.Info
	cfg   PortConfig
	vlans vlanSet
	q     chan *port.Frame
	kick  chan struct{} // wakes the writer goroutine
	wmu   sync.Mutex    // held by whoever writes the port
	w     *egress       // the writer's scratch, guarded by wmu
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	alive atomic.Bool
	c     counters
	sec   secState    // immutable after AddPort
	sc    secCounters // port security drops, written by the reader
	// learned counts the table entries pointing at the port.
	learned atomic.Int64
}

// full reports whether the port reached its MaxMACs.
func (ps *portState) full() bool {
	return ps.cfg.MaxMACs > 0 && ps.learned.Load() >= int64(ps.cfg.MaxMACs)
}

// counters are written by the port's reader (rx*), its writer (tx*,
// errors) and any reader that finds its queue full (txDrops).
type counters struct {
	rxFrames, rxBytes, rxDrops atomic.Uint64
	_                          [40]byte
	txFrames, txBytes, errs    atomic.Uint64
	_                          [40]byte
	txDrops                    atomic.Uint64
}

func newPortState(s *Switch, id PortID, p port.Port, pc PortConfig) *portState {
	ps := &portState{
		sw: s, id: id, p: p, info: p.Info(), cfg: pc, vlans: newVLANSet(pc),
		q:    make(chan *port.Frame, s.cfg.QueueLen),
		kick: make(chan struct{}, 1),
		w:    &egress{in: make([]*port.Frame, 0, s.cfg.ReadBatch*2)},
		done: make(chan struct{}),
	}
	if pc.Name != "" {
		ps.info.Name = pc.Name
	}
	if ps.info.MaxFrame <= 0 {
		ps.info.MaxFrame = ps.info.MTU + port.EthHdrLen + port.VLANTagLen
	}
	ps.alive.Store(true)
	return ps
}

func (ps *portState) start() {
	ps.wg.Add(2)
	go ps.readLoop()
	go ps.writeLoop()
}

// shutdown closes the port (which unblocks its reader), stops both
// goroutines and frees queued frames.
func (ps *portState) shutdown() {
	ps.once.Do(func() {
		ps.alive.Store(false)
		close(ps.done)
		if err := ps.p.Close(); err != nil {
			ps.sw.cfg.Log.Debug("port close failed", "switch", ps.sw.cfg.Name, "port", ps.info.Name, "err", err)
		}
	})
	ps.wg.Wait()
	ps.freeQueued()
}

// freeQueued returns the frames of a dead port's queue to the pool.
func (ps *portState) freeQueued() {
	for {
		select {
		case f := <-ps.q:
			port.Put(f)
		default:
			return
		}
	}
}

func (ps *portState) readLoop() {
	defer ps.wg.Done()
	rd := newReader(ps)
	defer rd.free()
	for {
		n, err := ps.p.ReadFrames(rd.batch)
		if err != nil {
			if !ps.alive.Load() {
				return
			}
			if errors.Is(err, port.ErrClosed) {
				// The port went away by itself (e.g. its namespace was
				// deleted): tell the owner, who removes it.
				ps.sw.cfg.Log.Info("port closed", "switch", ps.sw.cfg.Name, "port", ps.info.Name, "err", err)
				if down := ps.sw.cfg.OnPortDown; down != nil {
					down(ps.id, err)
				}
				return
			}
			ps.c.errs.Add(1)
			ps.sw.cfg.Log.Warn("port read failed", "switch", ps.sw.cfg.Name, "port", ps.info.Name, "err", err)
			select {
			case <-ps.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		ps.sw.ingress(rd, n)
	}
}

// reader is a port reader's state: its batch of buffers and the egress
// ports the current batch queued frames for.
type reader struct {
	in      *portState
	cl      *claims // the owned-address snapshot of the current batch
	batch   []*port.Frame
	touched []*portState
}

func newReader(ps *portState) *reader {
	rd := &reader{in: ps, batch: make([]*port.Frame, ps.sw.cfg.ReadBatch)}
	for i := range rd.batch {
		rd.batch[i] = port.Get(ps.info.MaxFrame)
	}
	return rd
}

func (rd *reader) free() {
	for _, f := range rd.batch {
		port.Put(f)
	}
}

// enqueue puts f on out's egress queue, or drops and counts it when the
// queue is full. Ownership of f passes on either way.
func (rd *reader) enqueue(out *portState, f *port.Frame) {
	select {
	case out.q <- f:
	default:
		out.c.txDrops.Add(1)
		port.Put(f)
		return
	}
	if !out.alive.Load() {
		// The port was removed after this reader looked it up: shutdown
		// may already have drained its queue, so free what is left.
		out.freeQueued()
		return
	}
	for _, t := range rd.touched {
		if t == out {
			return
		}
	}
	rd.touched = append(rd.touched, out)
}

// flushTouched gets the batch's frames moving: an idle non-blocking port is
// written right here; otherwise its writer goroutine is woken.
func (rd *reader) flushTouched() {
	// Wake the writers of blocking ports first, so inline writes to the
	// others do not delay them.
	for _, out := range rd.touched {
		if !out.info.NonBlocking {
			out.kickWriter()
		}
	}
	for i, out := range rd.touched {
		if out.info.NonBlocking {
			out.flushOrKick()
		}
		rd.touched[i] = nil
	}
	rd.touched = rd.touched[:0]
}

// PortStats are one port's counters.
type PortStats struct {
	ID       PortID `json:"id"`
	Name     string `json:"name"`
	RxFrames uint64 `json:"rx_frames"`
	RxBytes  uint64 `json:"rx_bytes"`
	RxDrops  uint64 `json:"rx_drops"`
	TxFrames uint64 `json:"tx_frames"`
	TxBytes  uint64 `json:"tx_bytes"`
	TxDrops  uint64 `json:"tx_drops"`
	Errors   uint64 `json:"errors"`
	// PortSecurity says whether the port is locked to its addresses.
	PortSecurity bool `json:"port_security"`
	// Security counts the frames port security dropped (included in
	// RxDrops).
	Security SecurityStats `json:"security"`
	// Learned is how many table entries point at the port.
	Learned int64 `json:"learned"`
}

func (ps *portState) stats() PortStats {
	return PortStats{
		ID: ps.id, Name: ps.info.Name,
		RxFrames: ps.c.rxFrames.Load(), RxBytes: ps.c.rxBytes.Load(), RxDrops: ps.c.rxDrops.Load(),
		TxFrames: ps.c.txFrames.Load(), TxBytes: ps.c.txBytes.Load(), TxDrops: ps.c.txDrops.Load(),
		Errors: ps.c.errs.Load(), PortSecurity: ps.sec.locked, Security: ps.sc.stats(), Learned: ps.learned.Load(),
	}
}

// Stats are a switch's counters.
type Stats struct {
	Ports      []PortStats `json:"ports"`
	FDBEntries int64       `json:"fdb_entries"`
	FDBMax     int64       `json:"fdb_max"`
	FDBEvicted uint64      `json:"fdb_evicted"`
	FDBMoved   uint64      `json:"fdb_moved"`
	// FDBLimited counts MACs not learned as their port reached MaxMACs.
	FDBLimited uint64 `json:"fdb_limited"`
	Floods     uint64 `json:"floods"`
}

// Stats returns a snapshot of the switch's and its ports' counters.
func (s *Switch) Stats() Stats {
	st := Stats{
		FDBEntries: s.fdb.count.Load(), FDBMax: s.fdb.max,
		FDBEvicted: s.fdb.evicted.Load(), FDBMoved: s.fdb.moved.Load(), FDBLimited: s.fdb.limited.Load(),
		Floods: s.floods.Load(),
	}
	for _, ps := range *s.ports.Load() {
		st.Ports = append(st.Ports, ps.stats())
	}
	return st
}
