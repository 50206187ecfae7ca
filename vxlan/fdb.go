package vxlan

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time; tests pass a fake one to drive ageing.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// entry is one remote MAC's VTEP. Readers on the data path load its fields
// atomically; only the control plane replaces entries in the map.
type entry struct {
	vtep   atomic.Uint32 // IPv4 address, big-endian order packed
	static atomic.Bool
	seen   atomic.Int64 // clock time in ns of the last frame (learned entries)
}

// table maps remote MACs to VTEPs. The map is copy-on-write: lookups and
// refreshes are lock-free (one atomic load, then atomics on the entry);
// inserting or removing a MAC copies the map under mu, once per MAC, never
// per frame. It holds at most max entries: learning beyond that is refused
// and counted.
type table struct {
	m       atomic.Pointer[map[uint64]*entry]
	max     int
	ageing  int64
	full    atomic.Uint64
	mu      sync.Mutex // serialises inserts so count stays exact
	clock   Clock
	refresh int64
}

func newTable(max int, ageing time.Duration, clock Clock) *table {
	t := &table{max: max, ageing: int64(ageing), clock: clock,
		refresh: min(int64(time.Second), int64(ageing)/4)}
	t.m.Store(&map[uint64]*entry{})
	return t
}

// get returns mac's entry or nil.
func (t *table) get(mac uint64) *entry { return (*t.m.Load())[mac] }

// edit replaces the map by a copy changed by fn; t.mu must be held.
func (t *table) edit(fn func(m map[uint64]*entry)) {
	old := *t.m.Load()
	m := make(map[uint64]*entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	fn(m)
	t.m.Store(&m)
}

// lookup returns the VTEP of a unicast MAC, if known and not aged out.
func (t *table) lookup(mac uint64, now int64) (uint32, bool) {
	e := t.get(mac)
	if e == nil {
		return 0, false
	}
	if !e.static.Load() && now-e.seen.Load() > t.ageing {
		return 0, false
	}
	return e.vtep.Load(), true
}

// learn records that mac was seen behind vtep. Static entries win: the
// store is authoritative for the MACs it knows.
func (t *table) learn(mac uint64, vtep uint32, now int64) {
	if e := t.get(mac); e != nil {
		if e.static.Load() {
			return
		}
		if e.vtep.Load() != vtep {
			e.vtep.Store(vtep)
			e.seen.Store(now)
		} else if now-e.seen.Load() >= t.refresh {
			e.seen.Store(now)
		}
		return
	}
	t.insert(mac, vtep, false, now)
}

// insert adds a new entry unless the table is full.
func (t *table) insert(mac uint64, vtep uint32, static bool, now int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.get(mac); e != nil {
		e.vtep.Store(vtep)
		e.seen.Store(now)
		if static {
			e.static.Store(true)
		}
		return
	}
	if len(*t.m.Load()) >= t.max {
		t.expireLocked(now)
		if len(*t.m.Load()) >= t.max {
			t.full.Add(1)
			return
		}
	}
	e := &entry{}
	e.vtep.Store(vtep)
	e.static.Store(static)
	e.seen.Store(now)
	t.edit(func(m map[uint64]*entry) { m[mac] = e })
}

// setStatic programs mac → vtep as a static entry.
func (t *table) setStatic(mac uint64, vtep uint32) {
	t.insert(mac, vtep, true, t.clock.Now().UnixNano())
}

// remove deletes mac's entry, static or learned.
func (t *table) remove(mac uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.get(mac) != nil {
		t.edit(func(m map[uint64]*entry) { delete(m, mac) })
	}
}

// expire removes learned entries older than the ageing time.
func (t *table) expire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expireLocked(t.clock.Now().UnixNano())
}

func (t *table) expireLocked(now int64) {
	stale := false
	for _, e := range *t.m.Load() {
		stale = stale || !e.static.Load() && now-e.seen.Load() > t.ageing
	}
	if !stale {
		return
	}
	t.edit(func(m map[uint64]*entry) {
		for k, e := range m {
			if !e.static.Load() && now-e.seen.Load() > t.ageing {
				delete(m, k)
			}
		}
	})
}

// Entry is one row of a tunnel's table listing.
type Entry struct {
	MAC    net.HardwareAddr `json:"mac"`
	VTEP   netip.Addr       `json:"vtep"`
	Static bool             `json:"static"`
	// Age is the time since the last frame from a learned MAC (0 for
	// static entries).
	Age time.Duration `json:"age_ns"`
}

// entries lists the live entries sorted by MAC.
func (t *table) entries() []Entry {
	now := t.clock.Now().UnixNano()
	var out []Entry
	for m, e := range *t.m.Load() {
		row := Entry{MAC: net.HardwareAddr{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)},
			VTEP: addrOf(e.vtep.Load()), Static: e.static.Load()}
		if !row.Static {
			row.Age = time.Duration(now - e.seen.Load())
			if int64(row.Age) > t.ageing {
				continue
			}
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MAC.String() < out[j].MAC.String() })
	return out
}

// addrOf and ip4 convert between netip.Addr and the packed form.
func addrOf(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func ip4(a netip.Addr) (uint32, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return 0, false
	}
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}
