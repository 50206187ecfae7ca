package flow

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a zero TableConfig.
const (
	DefaultMaxFlows = 4096
	DefaultIdle     = 90 * time.Second
)

// ErrFull is returned by Table.Add when the table has no room.
var ErrFull = errors.New("flow: table full")

// ErrTableClosed is returned by Table.Add after Close.
var ErrTableClosed = errors.New("flow: table closed")

// TableConfig configures a Table; zero fields take the defaults.
type TableConfig struct {
	// Max bounds the flows (4096); more are refused and counted.
	Max int
	// Idle expires a flow that has seen no datagram for this long (90 s).
	Idle time.Duration
	// Clock tells the time; nil is the system clock.
	Clock Clock
}

// TableStats are a Table's counters.
type TableStats struct {
	// Flows is the number of flows now.
	Flows int
	// Created counts flows added; Refused flows refused as the table was
	// full; Expired flows ended by the idle timeout.
	Created, Refused, Expired uint64
}

// Entry is one flow of a Table.
type Entry[K comparable, V any] struct {
	Key   K
	Value V
	c     io.Closer
	last  atomic.Int64 // the clock's Unix nanoseconds at the last datagram
}

// Table is a bounded table of UDP flows keyed by K with idle expiry: a
// sweeper, running on the clock while the table has flows, closes the
// closer of every flow idle for Idle. Its methods are safe for concurrent
// use.
type Table[K comparable, V any] struct {
	cfg TableConfig

	mu       sync.Mutex
	m        map[K]*Entry[K, V]
	peak     int // largest len(m) since the map was made
	closed   bool
	sweeping bool
	stop     chan struct{}
	wg       sync.WaitGroup

	created, refused, expired atomic.Uint64
}

// NewTable returns an empty table.
func NewTable[K comparable, V any](cfg TableConfig) *Table[K, V] {
	if cfg.Max <= 0 {
		cfg.Max = DefaultMaxFlows
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	return &Table[K, V]{cfg: cfg, m: make(map[K]*Entry[K, V]), stop: make(chan struct{})}
}

// Get returns key's flow.
func (t *Table[K, V]) Get(key K) (*Entry[K, V], bool) {
	t.mu.Lock()
	e, ok := t.m[key]
	t.mu.Unlock()
	return e, ok
}

// Admit reports whether a new flow would fit now, counting a refusal
// when it would not: callers check before opening what the flow needs.
func (t *Table[K, V]) Admit() bool {
	t.mu.Lock()
	ok := len(t.m) < t.cfg.Max
	t.mu.Unlock()
	if !ok {
		t.refused.Add(1)
	}
	return ok
}

// Add inserts a flow; c is closed when it expires or the table closes.
// It returns ErrFull (counted) when there is no room, ErrTableClosed
// after Close, and the existing entry with ok false when key is taken.
func (t *Table[K, V]) Add(key K, v V, c io.Closer) (e *Entry[K, V], ok bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, false, ErrTableClosed
	}
	if old, dup := t.m[key]; dup {
		return old, false, nil
	}
	if len(t.m) >= t.cfg.Max {
		t.refused.Add(1)
		return nil, false, ErrFull
	}
	e = &Entry[K, V]{Key: key, Value: v, c: c}
	e.last.Store(t.cfg.Clock.Now().UnixNano())
	t.m[key] = e
	t.peak = max(t.peak, len(t.m))
	t.created.Add(1)
	flowStarted()
	if !t.sweeping {
		t.sweeping = true
		t.wg.Add(1)
		go t.sweepLoop()
	}
	return e, true, nil
}

// Touch records a datagram of e's flow now.
func (t *Table[K, V]) Touch(e *Entry[K, V]) {
	e.last.Store(t.cfg.Clock.Now().UnixNano())
}

// Remove takes e out of the table (it does not close it); it reports
// whether e was still in it.
func (t *Table[K, V]) Remove(e *Entry[K, V]) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[e.Key] != e {
		return false
	}
	delete(t.m, e.Key)
	flowEnded()
	t.shrink()
	return true
}

// shrink replaces an emptied map that had grown large (a Go map keeps
// its peak size). Called with mu held.
func (t *Table[K, V]) shrink() {
	if len(t.m) == 0 && t.peak >= shrinkAbove {
		t.m = make(map[K]*Entry[K, V])
		t.peak = 0
	}
}

// shrinkAbove is the map size from which an emptied table's map is
// replaced.
const shrinkAbove = 256

// Sweep expires the flows idle for Idle or longer: they leave the table,
// are counted and their closers closed. It returns how many expired.
func (t *Table[K, V]) Sweep() int {
	now := t.cfg.Clock.Now().UnixNano()
	idle := int64(t.cfg.Idle)
	var gone []io.Closer
	t.mu.Lock()
	for k, e := range t.m {
		if now-e.last.Load() >= idle {
			delete(t.m, k)
			flowEnded()
			gone = append(gone, e.c)
		}
	}
	if len(gone) > 0 {
		t.shrink()
	}
	t.mu.Unlock()
	t.expired.Add(uint64(len(gone)))
	for _, c := range gone {
		if c != nil {
			Abort(c)
		}
	}
	return len(gone)
}

// sweepInterval is how often the sweeper looks: a tenth of Idle, so a
// flow ends between Idle and 1.1×Idle after its last datagram.
func (t *Table[K, V]) sweepInterval() time.Duration {
	return min(max(t.cfg.Idle/10, 10*time.Millisecond), 10*time.Second)
}

// sweepLoop sweeps while the table has flows.
func (t *Table[K, V]) sweepLoop() {
	defer t.wg.Done()
	for {
		tm := t.cfg.Clock.NewTimer(t.sweepInterval())
		select {
		case <-t.stop:
			tm.Stop()
			return
		case <-tm.C():
		}
		t.Sweep()
		t.mu.Lock()
		if len(t.m) == 0 {
			t.sweeping = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
}

// Stats returns the table's counters.
func (t *Table[K, V]) Stats() TableStats {
	t.mu.Lock()
	n := len(t.m)
	t.mu.Unlock()
	return TableStats{Flows: n, Created: t.created.Load(), Refused: t.refused.Load(), Expired: t.expired.Load()}
}

// Close refuses new flows, closes every flow's closer and stops the
// sweeper.
func (t *Table[K, V]) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	es := t.m
	t.m = make(map[K]*Entry[K, V])
	liveFlows.Add(-int64(len(es)))
	close(t.stop)
	t.mu.Unlock()
	for _, e := range es {
		if e.c != nil {
			Abort(e.c)
		}
	}
	t.wg.Wait()
}
