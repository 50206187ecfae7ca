package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/switchyard/switchyard/flow"
)

// ServeTCP accepts connections on ln and answers their queries until Close
// is called (it then returns nil) or ln is closed or fails (it returns
// why). The server owns ln from then on and closes it when it returns. At
// most MaxTCPConns connections are served at once: a new one past that
// closes the connection idle the longest, or is closed at once when all
// are busy with queries.
func (s *Server) ServeTCP(ln net.Listener) error {
	if !s.track(ln) {
		_ = ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	defer ln.Close()
	var bo flow.Backoff
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff := bo.Next()
				s.cfg.Log.Warn("dns: tcp accept failed; retrying", "addr", ln.Addr(), "err", err, "retry_in", backoff)
				if !s.pause(backoff) {
					return nil
				}
				continue
			}
			return fmt.Errorf("dns: serving tcp on %v: %w", ln.Addr(), err)
		}
		bo.Reset()
		tc := &tcpConn{c: c}
		tc.markIdle()
		ok, evicted := s.tcp.admit(tc)
		if evicted {
			s.stats.idleClosed.Add(1)
		}
		if !ok {
			s.stats.overloaded.Add(1)
			s.cfg.Log.Debug("dns: tcp connection limit reached, all busy", "max", s.cfg.MaxTCPConns, "from", c.RemoteAddr())
			_ = c.Close()
			continue
		}
		if !s.track(c) {
			s.tcp.remove(tc)
			_ = c.Close()
			return nil
		}
		go func() {
			defer s.tcp.remove(tc)
			defer s.untrack(c)
			defer c.Close()
			s.serveConn(tc)
		}()
	}
}

// serveConn answers the length-prefixed queries on c, one at a time, until
// the client closes c, stays idle past TCPIdleTimeout, sends a message too
// short to hold a header, or the server closes.
func (s *Server) serveConn(tc *tcpConn) {
	c := tc.c
	var buf []byte
	for {
		// The deadline covers the length prefix and the whole message: a
		// client cannot hold the connection by sending it slowly.
		_ = c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		tc.markIdle()
		var lb [2]byte
		if _, err := io.ReadFull(c, lb[:1]); err != nil {
			return
		}
		tc.markBusy()
		if _, err := io.ReadFull(c, lb[1:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(c, buf); err != nil {
			s.stats.queries.Add(1)
			s.stats.malformed.Add(1)
			s.cfg.Log.Debug("dns: tcp query cut short", "from", c.RemoteAddr(), "len", n, "err", err)
			return
		}
		out := s.handle(s.ctx, buf, false)
		if out == nil {
			return // undecodable: the stream may be out of step
		}
		msg := make([]byte, 2+len(out))
		binary.BigEndian.PutUint16(msg, uint16(len(out)))
		copy(msg[2:], out)
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}
