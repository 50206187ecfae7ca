package dns

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by ServeUDP and ServeTCP when called after
// Close.
var ErrServerClosed = errors.New("dns: server closed")

// Server is an embedded DNS server for one network. Its methods are safe
// for concurrent use.
type Server struct {
	cfg    Config
	table  atomic.Pointer[table]
	fwdSem chan struct{} // one token per forward in progress
	tcp    tcpConns      // the TCP connections being served
	stats  counters

	ctx    context.Context // cancelled by Close: aborts forwards
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	conns  map[io.Closer]struct{} // packet conns, listeners and TCP conns being served
	wg     sync.WaitGroup         // serve loops, TCP connections and forwards
}

// New returns a server for cfg with an empty record set. It serves nothing
// until ServeUDP or ServeTCP is called.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:    cfg,
		fwdSem: make(chan struct{}, cfg.MaxForwards),
		tcp:    tcpConns{max: cfg.MaxTCPConns, m: map[*tcpConn]struct{}{}},
		ctx:    ctx,
		cancel: cancel,
		conns:  map[io.Closer]struct{}{},
	}
	s.table.Store(&table{})
	return s
}

// SetRecords replaces the record set. The new set is indexed before it is
// swapped in atomically: queries see either the old set or the new one.
func (s *Server) SetRecords(records []Record) {
	t, skipped := buildTable(records, s.cfg.Domain)
	if len(skipped) > 0 {
		s.cfg.Log.Warn("dns: skipping invalid names", "names", skipped)
	}
	s.table.Store(t)
	s.cfg.Log.Debug("dns: records updated", "records", len(records), "names", len(t.names))
}

// Close stops the server: it closes every packet conn, listener and TCP
// connection being served, aborts forwards in progress and waits for the
// server's goroutines, including the ServeUDP and ServeTCP loops, to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	var errs []error
	for c := range s.conns {
		errs = append(errs, closeConn(c))
	}
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(errs...)
}

// closeConn closes c after waking up any goroutine blocked on it, in case
// its Close does not (deadlines for conns, Shutdown for gVisor listeners).
func closeConn(c io.Closer) error {
	switch c := c.(type) {
	case interface{ SetDeadline(time.Time) error }:
		_ = c.SetDeadline(time.Now())
	case interface{ SetReadDeadline(time.Time) error }:
		_ = c.SetReadDeadline(time.Now())
	}
	if sh, ok := c.(interface{ Shutdown() }); ok {
		sh.Shutdown()
	}
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// track registers c to be closed by Close and adds a goroutine to the wait
// group. It reports false (and registers nothing) once the server is closed.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// untrack undoes track once the goroutine serving c is done with it.
func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// isClosed reports whether Close has been called.
func (s *Server) isClosed() bool {
	return s.ctx.Err() != nil
}

// pause waits d or until Close, reporting false if the server was closed.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nextBackoff doubles a retry delay, from 5ms up to one second.
func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, time.Second)
}
