package dns

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/switchyard/switchyard/flow"
)

// writeTimeout bounds sending one reply.
const writeTimeout = 2 * time.Second

// ServeUDP answers the queries arriving on pc until Close is called (it
// then returns nil) or pc is closed or fails for good (it returns why).
// The server owns pc from then on and closes it when it returns. Local
// answers are sent from the read loop; forwarded queries are handled by at
// most MaxForwards goroutines.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	if !s.track(pc) {
		_ = pc.Close()
		return ErrServerClosed
	}
	defer s.untrack(pc)
	defer pc.Close()
	buf := make([]byte, maxMsgLen)
	var bo flow.Backoff
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				// io.EOF is how gVisor's gonet reports a closed endpoint.
				return fmt.Errorf("dns: serving udp on %v: %w", pc.LocalAddr(), err)
			}
			backoff := bo.Next()
			s.cfg.Log.Warn("dns: udp read failed; retrying", "addr", pc.LocalAddr(), "err", err, "retry_in", backoff)
			if !s.pause(backoff) {
				return nil
			}
			continue
		}
		bo.Reset()
		s.serveDatagram(pc, addr, buf[:n])
	}
}

// serveDatagram answers query b from addr. b is only valid for the call.
func (s *Server) serveDatagram(pc net.PacketConn, addr net.Addr, b []byte) {
	reply, req, fwd := s.resolve(b)
	if !fwd {
		s.writeUDP(pc, addr, s.finish(reply, req, true))
		return
	}
	if !s.acquireForward() {
		s.writeUDP(pc, addr, s.finish(s.overloaded(req), req, true))
		return
	}
	// Close waits for the read loop (Hold) before waiting for forwards,
	// so this Add cannot race with that Wait.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.releaseForward()
		reply := s.forward(s.ctx, req)
		if s.isClosed() {
			return
		}
		s.writeUDP(pc, addr, s.finish(reply, req, true))
	}()
}

// writeUDP sends reply b (if any) to addr.
func (s *Server) writeUDP(pc net.PacketConn, addr net.Addr, b []byte) {
	if b == nil {
		return
	}
	// Concurrent writers each push the deadline forward; it still bounds
	// how long any one write can block.
	_ = pc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := pc.WriteTo(b, addr); err != nil && !s.isClosed() {
		s.cfg.Log.Debug("dns: udp write failed", "to", addr, "err", err)
	}
}
