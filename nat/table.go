package nat

import (
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Flow is one tracked connection.
type Flow struct {
	id       uint64
	Proto    string
	Endpoint netip.AddrPort // the endpoint's side
	Dest     netip.AddrPort // what the endpoint addressed
	Target   netip.AddrPort // what the host dialed (differs for host loopback)
	Started  time.Time
	// ToDest and FromDest count payload bytes in each direction.
	ToDest, FromDest atomic.Uint64
}

// FlowInfo is a snapshot of a Flow for listings.
type FlowInfo struct {
	Proto    string        `json:"proto"`
	Endpoint string        `json:"endpoint"`
	Dest     string        `json:"destination"`
	Target   string        `json:"target,omitempty"`
	ToDest   uint64        `json:"bytes_out"`
	FromDest uint64        `json:"bytes_in"`
	Age      time.Duration `json:"age_ns"`
}

// Stats are the NAT's counters.
type Stats struct {
	TCPFlows, UDPFlows int
	// RefusedFull counts flows refused because the table was full.
	RefusedFull uint64
	// RefusedPolicy counts flows refused by policy (host loopback not
	// allowed, another network's subnet).
	RefusedPolicy uint64
	// UDPExpired counts UDP flows ended by the idle timeout.
	UDPExpired uint64
	// DialFailed counts TCP connections the destination refused or that
	// timed out (the endpoint got a RST).
	DialFailed uint64
	// ICMPUnsupported is non-empty when ICMP echo to outside addresses
	// cannot be forwarded, and says why; ICMPDropped counts those echoes.
	ICMPUnsupported string
	ICMPForwarded   uint64
	ICMPDropped     uint64
}

// table is the bounded connection-tracking table.
type table struct {
	mu     sync.Mutex
	flows  map[uint64]*Flow
	next   uint64
	max    map[string]int
	count  map[string]int
	full   atomic.Uint64
	policy atomic.Uint64
	failed atomic.Uint64
}

func newTable(maxTCP, maxUDP int) *table {
	return &table{flows: map[uint64]*Flow{}, max: map[string]int{"tcp": maxTCP, "udp": maxUDP}, count: map[string]int{}}
}

// add registers a flow, or refuses it (and counts) when the protocol's
// share of the table is full.
func (t *table) add(f *Flow) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count[f.Proto] >= t.max[f.Proto] {
		t.full.Add(1)
		return false
	}
	t.next++
	f.id = t.next
	t.flows[f.id] = f
	t.count[f.Proto]++
	return true
}

func (t *table) remove(f *Flow) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.flows[f.id]; ok {
		delete(t.flows, f.id)
		t.count[f.Proto]--
		if len(t.flows) == 0 {
			t.flows = map[uint64]*Flow{} // a Go map keeps its peak size
		}
	}
}

// list returns the live flows, oldest first.
func (t *table) list(now time.Time) []FlowInfo {
	t.mu.Lock()
	fs := make([]*Flow, 0, len(t.flows))
	for _, f := range t.flows {
		fs = append(fs, f)
	}
	t.mu.Unlock()
	sort.Slice(fs, func(i, j int) bool { return fs[i].id < fs[j].id })
	out := make([]FlowInfo, 0, len(fs))
	for _, f := range fs {
		fi := FlowInfo{Proto: f.Proto, Endpoint: f.Endpoint.String(), Dest: f.Dest.String(),
			ToDest: f.ToDest.Load(), FromDest: f.FromDest.Load(), Age: now.Sub(f.Started)}
		if f.Target != f.Dest {
			fi.Target = f.Target.String()
		}
		out = append(out, fi)
	}
	return out
}

func (t *table) stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{TCPFlows: t.count["tcp"], UDPFlows: t.count["udp"],
		RefusedFull: t.full.Load(), RefusedPolicy: t.policy.Load(), DialFailed: t.failed.Load()}
}
