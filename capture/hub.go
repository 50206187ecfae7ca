package capture

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/port"
	vswitch "github.com/switchyard/switchyard/switch"
)

// Hub is a switch's observer: it fans frames out to the sessions
// capturing on that switch. It installs itself while it has sessions and
// removes itself when the last one leaves, so a switch nobody captures on
// pays one atomic load per batch.
type Hub struct {
	sw      *vswitch.Switch
	network string
	mu      sync.Mutex
	taps    atomic.Pointer[[]tap]
}

// tap is one session's interest in a switch: which ports (nil: all).
type tap struct {
	s     *Session
	ports map[vswitch.PortID]bool
}

var _ vswitch.Observer = (*Hub)(nil)

// NewHub returns a hub for a switch; network names the records.
func NewHub(sw *vswitch.Switch, network string) *Hub {
	h := &Hub{sw: sw, network: network}
	h.taps.Store(&[]tap{})
	return h
}

// Add makes s receive the frames of ports (nil: every port, also ports
// added later).
func (h *Hub) Add(s *Session, ports map[vswitch.PortID]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.taps.Load()
	next := append(append([]tap(nil), old...), tap{s: s, ports: ports})
	h.taps.Store(&next)
	if len(old) == 0 {
		h.sw.SetObserver(h)
	}
}

// Remove stops feeding s.
func (h *Hub) Remove(s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var next []tap
	for _, t := range *h.taps.Load() {
		if t.s != s {
			next = append(next, t)
		}
	}
	h.taps.Store(&next)
	if len(next) == 0 {
		h.sw.SetObserver(nil)
	}
}

// Observe implements vswitch.Observer.
func (h *Hub) Observe(id vswitch.PortID, name string, dir vswitch.Direction, fs []*port.Frame) {
	taps := *h.taps.Load()
	if len(taps) == 0 {
		return
	}
	now := time.Now()
	for _, t := range taps {
		if t.ports == nil || t.ports[id] {
			t.s.offer(h.network, name, dir, fs, now)
		}
	}
}
