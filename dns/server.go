package dns

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/flow"
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

	conns flow.Tracker   // packet conns, listeners and TCP conns being served (Hold)
	wg    sync.WaitGroup // forwards
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
	if s.conns.Closed() {
		return nil
	}
	s.cancel()
	err := s.conns.Close()
	s.conns.Wait()
	s.wg.Wait()
	return err
}

// track registers c to be closed by Close and counts the goroutine
// serving it. It reports false (and registers nothing) once the server is closed.
func (s *Server) track(c io.Closer) bool {
	return s.conns.Hold(c)
}

// untrack undoes track once the goroutine serving c is done with it.
func (s *Server) untrack(c io.Closer) {
	s.conns.Release(c)
}

// isClosed reports whether Close has been called.
func (s *Server) isClosed() bool {
	return s.ctx.Err() != nil
}

// pause waits d or until Close, reporting false if the server was closed.
func (s *Server) pause(d time.Duration) bool {
	return flow.Sleep(s.ctx, nil, d)
}
