package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/switchyard/switchyard/flow"
)

// Defaults of the zero Config fields.
const (
	DefaultDialTimeout      = 10 * time.Second
	DefaultKeepAlive        = 15 * time.Second
	DefaultUDPIdleTimeout   = 90 * time.Second
	DefaultUDPMaxFlows      = 4096
	DefaultMaxAcceptBackoff = time.Second
)

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("proxy: closed")

// ErrUnknownMapping is returned by Remove for an ID that is not (or no
// longer) in use.
var ErrUnknownMapping = errors.New("proxy: unknown mapping")

// Config configures a Proxy. Zero fields take the defaults above; a
// negative duration disables what it times.
type Config struct {
	// DialTimeout bounds a backend dial (10 s; negative: no limit).
	DialTimeout time.Duration
	// KeepAlive is the TCP keepalive period of both ends of a proxied
	// connection (15 s; negative: keepalive off).
	KeepAlive time.Duration
	// UDPIdleTimeout ends a UDP flow after this long without a datagram
	// either way (90 s).
	UDPIdleTimeout time.Duration
	// UDPMaxFlows caps the UDP flows of one mapping (4096); datagrams of
	// new clients beyond it are dropped and counted (Stats.Refused).
	UDPMaxFlows int
	// MaxAcceptBackoff caps the pause after a failed accept (1 s).
	MaxAcceptBackoff time.Duration
	// Dialer reaches backends of mappings that have no Dialer of their
	// own; nil means HostDialer{KeepAlive: KeepAlive}.
	Dialer Dialer
	// Clock times UDP idle expiry, back-off pauses and warnings; nil is
	// the system clock.
	Clock flow.Clock
}

func (c *Config) setDefaults() {
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.UDPIdleTimeout <= 0 {
		c.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	if c.UDPMaxFlows <= 0 {
		c.UDPMaxFlows = DefaultUDPMaxFlows
	}
	if c.MaxAcceptBackoff <= 0 {
		c.MaxAcceptBackoff = DefaultMaxAcceptBackoff
	}
	if c.Dialer == nil {
		c.Dialer = HostDialer{KeepAlive: c.KeepAlive}
	}
	if c.Clock == nil {
		c.Clock = flow.SystemClock{}
	}
}

// ID names a mapping of a Proxy.
type ID uint64

// Proxy serves port mappings. Its methods are safe for concurrent use.
type Proxy struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	mappings map[ID]mapping
	next     ID
	closed   bool
}

// mapping is a running TCP or UDP mapping.
type mapping interface {
	info() MappingInfo
	// stop closes the mapping's sockets and waits for its goroutines.
	stop()
}

// New returns a Proxy with no mappings. A nil log discards messages.
func New(cfg Config, log *slog.Logger) *Proxy {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Proxy{cfg: cfg, log: log, mappings: make(map[ID]mapping)}
}

// Add starts serving m and returns its ID. On error nothing is left open;
// a listener or packet socket passed in m is closed in any case once the
// mapping is removed, or on error.
func (p *Proxy) Add(m Mapping) (ID, error) {
	if err := m.validate(); err != nil {
		m.closeSockets()
		return 0, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		m.closeSockets()
		return 0, ErrClosed
	}
	p.next++
	id := p.next
	p.mu.Unlock()

	b := &base{id: id, cfg: p.cfg, m: m, dialer: m.Dialer}
	if b.dialer == nil {
		b.dialer = p.cfg.Dialer
	}
	b.log = p.log.With("mapping", uint64(id), "proto", string(m.Proto), "backend", m.Backend.String())
	var run mapping
	var err error
	switch m.Proto {
	case TCP:
		run, err = startTCP(b)
	default:
		run, err = startUDP(b)
	}
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		run.stop()
		return 0, ErrClosed
	}
	p.mappings[id] = run
	p.mu.Unlock()
	b.log.Debug("mapping added", "listen", run.info().Listen.String())
	return id, nil
}

// AddRange adds n mappings of consecutive ports: m.Listen's port and
// m.Backend's port are the first of each range. It adds all or none.
func (p *Proxy) AddRange(m Mapping, n int) ([]ID, error) {
	if m.Listener != nil || m.PacketConn != nil {
		return nil, errors.New("proxy: a range needs Listen addresses, not a socket")
	}
	if n < 1 || (n > 1 && m.Listen.Port() == 0) || int(m.Listen.Port())+n-1 > 65535 || int(m.Backend.Port())+n-1 > 65535 {
		return nil, fmt.Errorf("proxy: bad port range: %d ports from %s to %s", n, m.Listen, m.Backend)
	}
	ids := make([]ID, 0, n)
	for i := range n {
		one := m
		one.Listen = addPort(m.Listen, i)
		one.Backend = addPort(m.Backend, i)
		id, err := p.Add(one)
		if err != nil {
			for _, done := range ids {
				_ = p.Remove(done)
			}
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Remove stops a mapping: its listening socket is closed, its connections
// and flows are closed, and its goroutines have ended when Remove returns.
func (p *Proxy) Remove(id ID) error {
	p.mu.Lock()
	run, ok := p.mappings[id]
	delete(p.mappings, id)
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("proxy: remove %d: %w", id, ErrUnknownMapping)
	}
	run.stop()
	p.log.Debug("mapping removed", "mapping", uint64(id))
	return nil
}

// List describes the current mappings, by ID.
func (p *Proxy) List() []MappingInfo {
	p.mu.Lock()
	runs := make([]mapping, 0, len(p.mappings))
	for _, run := range p.mappings {
		runs = append(runs, run)
	}
	p.mu.Unlock()
	out := make([]MappingInfo, 0, len(runs))
	for _, run := range runs {
		out = append(out, run.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stats returns the counters summed over the current mappings.
func (p *Proxy) Stats() Stats {
	var sum Stats
	for _, mi := range p.List() {
		sum.add(mi.Stats)
	}
	return sum
}

// StatsOf returns the counters summed over the given mappings (IDs no
// longer in use count nothing): the per-publish view of a port range.
func (p *Proxy) StatsOf(ids []ID) Stats {
	p.mu.Lock()
	runs := make([]mapping, 0, len(ids))
	for _, id := range ids {
		if run, ok := p.mappings[id]; ok {
			runs = append(runs, run)
		}
	}
	p.mu.Unlock()
	var sum Stats
	for _, run := range runs {
		sum.add(run.info().Stats)
	}
	return sum
}

// Close removes every mapping and makes later Adds fail. It returns when
// all of the Proxy's goroutines have ended; it always returns nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	runs := p.mappings
	p.mappings = make(map[ID]mapping)
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.stop()
		}()
	}
	wg.Wait()
	return nil
}
