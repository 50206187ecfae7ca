package vswitch

import (
	"math/bits"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// fdbKey packs a MAC address and a VLAN ID into one word.
type fdbKey uint64

func makeKey(mac []byte, vlan uint16) fdbKey {
	return fdbKey(uint64(mac[0])<<56 | uint64(mac[1])<<48 | uint64(mac[2])<<40 |
		uint64(mac[3])<<32 | uint64(mac[4])<<24 | uint64(mac[5])<<16 | uint64(vlan))
}

func (k fdbKey) mac() net.HardwareAddr {
	return net.HardwareAddr{byte(k >> 56), byte(k >> 48), byte(k >> 40), byte(k >> 32), byte(k >> 24), byte(k >> 16)}
}

func (k fdbKey) vlan() uint16 { return uint16(k) }

// maxRefresh bounds how often a hot entry's timestamp is rewritten, so a
// busy MAC does not dirty a shared cache line on every frame.
const maxRefresh = int64(time.Second)

type fdbEntry struct {
	port atomic.Pointer[portState]
	seen atomic.Int64 // clock time in ns of the last frame from this MAC
	// pinned entries belong to a port with port security: they never age,
	// move or get evicted, only flushed with their port.
	pinned bool
}

type fdbShard struct {
	mu sync.RWMutex
	m  map[fdbKey]*fdbEntry
	_  [40]byte // keep shards on separate cache lines
}

// fdb is the forwarding table: MAC+VLAN → port, sharded so lookups from
// different ports never contend on one lock, with ageing and a size cap.
type fdb struct {
	shards  []fdbShard
	mask    uint64
	max     int64
	ageing  int64
	refresh int64 // rewrite a timestamp older than this
	count   atomic.Int64
	evicted atomic.Uint64
	moved   atomic.Uint64
	// limited counts new MACs not learned because their port reached its
	// MaxMACs.
	limited atomic.Uint64
}

func newFDB(max int, ageing time.Duration) *fdb {
	n := 1
	for n < 64 && n*64 <= max {
		n <<= 1
	}
	t := &fdb{shards: make([]fdbShard, n), mask: uint64(n - 1), max: int64(max), ageing: int64(ageing),
		refresh: min(maxRefresh, int64(ageing)/4)}
	for i := range t.shards {
		t.shards[i].m = make(map[fdbKey]*fdbEntry)
	}
	return t
}

func (t *fdb) shard(k fdbKey) *fdbShard {
	h := uint64(k) * 0x9E3779B97F4A7C15
	return &t.shards[bits.RotateLeft64(h, 17)&t.mask]
}

// lookup returns the live port for k, or nil when unknown or aged out.
func (t *fdb) lookup(k fdbKey, now int64) *portState {
	sh := t.shard(k)
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e == nil || (!e.pinned && now-e.seen.Load() > t.ageing) {
		return nil
	}
	return e.port.Load()
}

// learn records that k was seen on p at now.
func (t *fdb) learn(k fdbKey, p *portState, now int64) {
	sh := t.shard(k)
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e != nil {
		switch old := e.port.Load(); {
		case e.pinned:
		case old != p:
			if p.full() {
				t.limited.Add(1)
				return
			}
			if e.port.CompareAndSwap(old, p) {
				old.learned.Add(-1)
				p.learned.Add(1)
				t.moved.Add(1)
				e.seen.Store(now)
			}
		case now-e.seen.Load() >= t.refresh:
			e.seen.Store(now)
		}
		return
	}
	if p.full() {
		t.limited.Add(1)
		return
	}
	if t.count.Load() >= t.max && !t.evictOldest(sh, now) {
		return
	}
	sh.mu.Lock()
	if sh.m[k] == nil {
		t.insert(sh, k, p, now, false)
	}
	sh.mu.Unlock()
}

// insert adds an entry; sh.mu must be held and k absent.
func (t *fdb) insert(sh *fdbShard, k fdbKey, p *portState, now int64, pinned bool) {
	e := &fdbEntry{pinned: pinned}
	e.port.Store(p)
	e.seen.Store(now)
	sh.m[k] = e
	t.count.Add(1)
	p.learned.Add(1)
}

// drop deletes k's entry e; sh.mu must be held.
func (t *fdb) drop(sh *fdbShard, k fdbKey, e *fdbEntry) {
	delete(sh.m, k)
	t.count.Add(-1)
	e.port.Load().learned.Add(-1)
}

// pin installs k as p's pinned entry, replacing what was learned for it.
func (t *fdb) pin(k fdbKey, p *portState, now int64) {
	sh := t.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.m[k]; e != nil {
		t.drop(sh, k, e)
	}
	t.insert(sh, k, p, now, true)
}

// evictOldest removes the least recently seen entry, preferring the
// learner's own shard; it never holds two shard locks at once.
func (t *fdb) evictOldest(own *fdbShard, now int64) bool {
	if t.evictIn(own, now) {
		return true
	}
	for i := range t.shards {
		if sh := &t.shards[i]; sh != own && t.evictIn(sh, now) {
			return true
		}
	}
	return false
}

func (t *fdb) evictIn(sh *fdbShard, now int64) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var oldK fdbKey
	oldT := int64(1<<63 - 1)
	found := false
	for k, e := range sh.m {
		if s := e.seen.Load(); s < oldT && !e.pinned {
			oldK, oldT, found = k, s, true
		}
	}
	if !found {
		return false
	}
	t.drop(sh, oldK, sh.m[oldK])
	t.evicted.Add(1)
	return true
}

// removeIf deletes every entry for which drop returns true.
func (t *fdb) removeIf(drop func(e *fdbEntry) bool) int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if drop(e) {
				t.drop(sh, k, e)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// expire removes entries not seen within the ageing time.
func (t *fdb) expire(now int64) int {
	return t.removeIf(func(e *fdbEntry) bool { return !e.pinned && now-e.seen.Load() > t.ageing })
}

// flushPort removes every entry pointing at p.
func (t *fdb) flushPort(p *portState) int {
	return t.removeIf(func(e *fdbEntry) bool { return e.port.Load() == p })
}

// FDBEntry is one row of a forwarding table listing.
type FDBEntry struct {
	MAC  net.HardwareAddr `json:"mac"`
	VLAN uint16           `json:"vlan,omitempty"`
	Port string           `json:"port"`
	Age  time.Duration    `json:"age_ns"`
	// Pinned marks the address of a port with port security.
	Pinned bool `json:"pinned,omitempty"`
}

func (t *fdb) entries(now int64) []FDBEntry {
	var out []FDBEntry
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			age := now - e.seen.Load()
			if e.pinned {
				age = 0
			} else if age > t.ageing {
				continue
			}
			p := e.port.Load()
			out = append(out, FDBEntry{MAC: k.mac(), VLAN: k.vlan(), Port: p.info.Name, Age: time.Duration(age), Pinned: e.pinned})
		}
		sh.mu.RUnlock()
	}
	return out
}
