// Package vswitch is switchyard's learning Ethernet switch (the directory is
// switch/; the package is named vswitch because switch is a Go keyword).
//
// A Switch forwards frames between Ports: it learns source MACs per VLAN,
// ages them out, floods broadcast, multicast and unknown unicast, and keeps
// each port's egress in a bounded queue drained by that port's own writer,
// so a slow port drops (and counts) its own frames without stalling others.
// Lookups use a sharded table and the port list is copy-on-write: there is
// no global lock on the per-frame path.
package vswitch

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/port"
)

// Clock tells the time; tests pass a fake one to drive ageing.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config holds a switch's settings. Zero fields take the defaults.
type Config struct {
	// Name identifies the switch in logs (usually the network name).
	Name string
	// AgeingTime is how long a learned MAC stays without traffic (300 s).
	AgeingTime time.Duration
	// MaxEntries caps the forwarding table (8192, as Open vSwitch); when
	// full, the least recently seen entry is evicted and counted.
	MaxEntries int
	// QueueLen is each port's egress queue length in frames (512).
	QueueLen int
	// ReadBatch is how many frames a port reader takes per call (32).
	ReadBatch int
	// Clock drives ageing; nil means the system clock.
	Clock Clock
	// Log receives port errors; nil discards them.
	Log *slog.Logger
	// OnPortDown, when set, is called from a port's reader when the port
	// closed by itself (its ReadFrames returned port.ErrClosed without
	// RemovePort). It must not block; the usual reaction is to call
	// RemovePort from another goroutine.
	OnPortDown func(PortID, error)
}

func (c *Config) setDefaults() {
	if c.AgeingTime <= 0 {
		c.AgeingTime = 300 * time.Second
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 8192
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 512
	}
	if c.ReadBatch <= 0 {
		c.ReadBatch = 32
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Switch is one L2 broadcast domain (a network).
type Switch struct {
	cfg   Config
	fdb   *fdb
	ports atomic.Pointer[[]*portState]
	// claims are the addresses ports with port security own; replaced
	// (copy-on-write) under mu.
	claims atomic.Pointer[claims]

	mu      sync.Mutex // serialises port add/remove
	nextID  uint64
	floods  atomic.Uint64
	obs     atomic.Pointer[observerBox]
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  bool
	janitor sync.Once
}

// ErrSwitchClosed is returned by AddPort after Close.
var ErrSwitchClosed = errors.New("switch closed")

// New returns a running switch with no ports.
func New(cfg Config) *Switch {
	cfg.setDefaults()
	s := &Switch{cfg: cfg, fdb: newFDB(cfg.MaxEntries, cfg.AgeingTime), stop: make(chan struct{})}
	empty := []*portState{}
	s.ports.Store(&empty)
	s.claims.Store(&claims{})
	s.wg.Add(1)
	go s.ageLoop()
	return s
}

// ageLoop removes aged-out entries so the table does not hold dead MACs.
func (s *Switch) ageLoop() {
	defer s.wg.Done()
	every := min(max(s.cfg.AgeingTime/10, 100*time.Millisecond), 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.fdb.expire(s.cfg.Clock.Now().UnixNano())
		}
	}
}

// PortID identifies a port on one switch.
type PortID uint64

// AddPort attaches p with the given VLAN settings and starts its reader and
// writer. From then on the switch owns p: RemovePort and Close close it.
func (s *Switch) AddPort(p port.Port, pc PortConfig) (PortID, error) {
	if err := pc.validate(); err != nil {
		return 0, err
	}
	sec, err := newSecState(pc.Security)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrSwitchClosed
	}
	ps := newPortState(s, PortID(s.nextID+1), p, pc)
	ps.sec = sec
	if sec.on {
		cl, err := s.claims.Load().withPort(ps)
		if err != nil {
			return 0, fmt.Errorf("switch %s: port %s: %w", s.cfg.Name, ps.info.Name, err)
		}
		s.claims.Store(cl)
		if !pc.Trunk {
			s.fdb.pin(makeKey(pc.Security.MAC, pc.VLAN), ps, s.cfg.Clock.Now().UnixNano())
		}
	}
	s.nextID++
	old := *s.ports.Load()
	next := make([]*portState, len(old), len(old)+1)
	copy(next, old)
	next = append(next, ps)
	s.ports.Store(&next)
	ps.start()
	return ps.id, nil
}

// RemovePort detaches a port: it is closed, its goroutines stop, its queued
// frames are freed and its table entries flushed.
func (s *Switch) RemovePort(id PortID) error {
	s.mu.Lock()
	old := *s.ports.Load()
	var ps *portState
	next := make([]*portState, 0, len(old))
	for _, p := range old {
		if p.id == id {
			ps = p
			continue
		}
		next = append(next, p)
	}
	if ps == nil {
		s.mu.Unlock()
		return fmt.Errorf("switch %s: no port %d", s.cfg.Name, id)
	}
	s.ports.Store(&next)
	if ps.sec.on {
		s.claims.Store(s.claims.Load().without(ps))
	}
	s.mu.Unlock()
	ps.shutdown()
	s.fdb.flushPort(ps)
	return nil
}

// Close closes every port, stops their goroutines and the ageing loop.
func (s *Switch) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ports := *s.ports.Load()
	empty := []*portState{}
	s.ports.Store(&empty)
	s.mu.Unlock()
	for _, ps := range ports {
		ps.shutdown()
	}
	close(s.stop)
	s.wg.Wait()
}

// FDB lists the live forwarding table entries.
func (s *Switch) FDB() []FDBEntry {
	return s.fdb.entries(s.cfg.Clock.Now().UnixNano())
}

// ExpireNow removes aged-out entries immediately (the ageing loop does it
// periodically); it returns how many were removed.
func (s *Switch) ExpireNow() int { return s.fdb.expire(s.cfg.Clock.Now().UnixNano()) }
