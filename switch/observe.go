package vswitch

import (
	"github.com/switchyard/switchyard/port"
)

// Direction says which way a frame crossed a port.
type Direction uint8

// Directions, seen from the port's peer (as tcpdump on that interface
// would): In is a frame the peer sent into the switch, Out one the switch
// sent to the peer.
const (
	In Direction = iota
	Out
)

// Observer sees the frames crossing the switch's ports while a capture
// runs. Observe is called on the forwarding path, from many goroutines at
// once, with a batch it must not keep or modify: it copies what it wants
// and returns quickly (dropping, not blocking, when it cannot keep up).
type Observer interface {
	Observe(id PortID, name string, dir Direction, fs []*port.Frame)
}

type observerBox struct{ o Observer }

// SetObserver installs o (nil removes it). With no observer the forwarding
// path pays one atomic load per batch.
func (s *Switch) SetObserver(o Observer) {
	if o == nil {
		s.obs.Store(nil)
		return
	}
	s.obs.Store(&observerBox{o})
}

// observe hands a batch to the observer, if any.
func (s *Switch) observe(ps *portState, dir Direction, fs []*port.Frame) {
	if b := s.obs.Load(); b != nil && len(fs) > 0 {
		b.o.Observe(ps.id, ps.info.Name, dir, fs)
	}
}

// PortInfo names a port of the switch.
type PortInfo struct {
	ID   PortID
	Name string
	VLAN uint16
}

// Ports lists the switch's ports.
func (s *Switch) Ports() []PortInfo {
	ports := *s.ports.Load()
	out := make([]PortInfo, len(ports))
	for i, ps := range ports {
		out[i] = PortInfo{ID: ps.id, Name: ps.info.Name, VLAN: ps.cfg.VLAN}
	}
	return out
}
