package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Read timing of the API server.
const (
	// apiCompleteGrace is how long a connection whose bytes already form
	// a complete JSON value may stay silent before it is answered without
	// waiting for EOF (for clients that never half-close; Podman and
	// RootlessKit do).
	apiCompleteGrace = 50 * time.Millisecond
	// apiReadTimeout bounds the wait for a request; what arrived by then
	// is answered.
	apiReadTimeout = 10 * time.Second
)

// APIServer serves slirp4netns's API socket protocol: one request per
// connection, read until EOF (or until MaxAPIRequest bytes, answered
// "too large message" at once), one reply in one write, no trailing
// newline, then the connection is closed. Connections are read
// concurrently; requests are handled one at a time.
type APIServer struct {
	ln           net.Listener
	fwd          Forwarder
	defaultGuest netip.Addr
	log          *slog.Logger

	handleMu sync.Mutex // serialises calls to fwd

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewAPIServer returns a server answering on ln with f. defaultGuest is
// the guest address of add_hostfwd requests without guest_addr (the
// recommended guest address, Options.Addrs().Guest). log may be nil.
func NewAPIServer(ln net.Listener, f Forwarder, defaultGuest netip.Addr, log *slog.Logger) *APIServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &APIServer{ln: ln, fwd: f, defaultGuest: defaultGuest, log: log, conns: map[net.Conn]struct{}{}}
}

// ServeAPI serves the API on ln until ln is closed (then it returns nil,
// after the connections in progress are done) or accepting fails.
func ServeAPI(ln net.Listener, f Forwarder, defaultGuest netip.Addr, log *slog.Logger) error {
	return NewAPIServer(ln, f, defaultGuest, log).Serve()
}

// Serve accepts connections until Close (or the listener is closed
// otherwise), then waits for the connections in progress and returns nil.
// It returns the error when accepting fails for another reason.
func (s *APIServer) Serve() error {
	defer s.wg.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("api socket accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Close stops the server: it closes the listener and the connections in
// progress, and waits for their goroutines. It does not close the
// Forwarder.
func (s *APIServer) Close() error {
	s.mu.Lock()
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("close api socket: %w", err)
	}
	return nil
}

// Handle returns the reply to one request, as sent on the socket.
func (s *APIServer) Handle(req []byte) []byte {
	s.handleMu.Lock()
	defer s.handleMu.Unlock()
	return handle(s.fwd, s.defaultGuest, req)
}

func (s *APIServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	req, err := readAPIRequest(c)
	if err != nil {
		s.log.Debug("api: read", "err", err)
		return
	}
	if len(req) >= MaxAPIRequest {
		s.log.Warn("api: too large message", "bytes", len(req))
	} else {
		s.log.Debug("api: request", "request", string(req))
	}
	reply := s.Handle(req)
	if _, err := c.Write(reply); err != nil {
		s.log.Debug("api: write reply", "err", err)
	}
}

// readAPIRequest reads one request: until EOF, until MaxAPIRequest bytes
// (the caller answers "too large message"), until the bytes parse as a
// JSON value ending with a '}' and apiCompleteGrace passes without more,
// or until apiReadTimeout.
// An error means the connection broke or was closed by Close.
func readAPIRequest(c net.Conn) ([]byte, error) {
	buf := make([]byte, MaxAPIRequest)
	n := 0
	end := time.Now().Add(apiReadTimeout)
	complete := false
	for n < len(buf) {
		deadline := end
		if complete {
			if g := time.Now().Add(apiCompleteGrace); g.Before(end) {
				deadline = g
			}
		}
		if err := c.SetReadDeadline(deadline); err != nil {
			return nil, fmt.Errorf("set read deadline: %w", err)
		}
		r, err := c.Read(buf[n:])
		// A request is an object: it can only have become complete with
		// a '}' (this keeps parsing off the path of byte-by-byte input).
		if r > 0 && !complete && bytes.IndexByte(buf[n:n+r], '}') >= 0 {
			_, complete = parseJSON(buf[:n+r])
		}
		n += r
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrDeadlineExceeded):
			return buf[:n], nil
		default:
			return nil, fmt.Errorf("read request: %w", err)
		}
	}
	return buf[:n], nil
}
