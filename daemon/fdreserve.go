package daemon

import (
	"log/slog"
	"net"
	"os"
	"sync"
)

// controlReserve is how many descriptors the control socket keeps spare.
const controlReserve = 8

// reserveListener keeps the control API answering when the data path (the
// port proxy, the NAT) has used every descriptor the process may open:
// it holds spare descriptors, and when Accept fails for want of
// descriptors it frees them, accepts the waiting client and serves it with
// what they leave. The spares are taken back on later accepts.
type reserveListener struct {
	net.Listener
	log   *slog.Logger
	mu    sync.Mutex
	spare []*os.File
}

func newReserveListener(ln net.Listener, log *slog.Logger) *reserveListener {
	l := &reserveListener{Listener: ln, log: log}
	l.refill()
	return l
}

// Accept accepts a connection, using the spares when descriptors ran out.
func (l *reserveListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.refill()
		return c, nil
	}
	if exhausted(err) == "" || !l.release() {
		return nil, err
	}
	l.log.Warn("control socket: out of file descriptors, serving from the reserve", "err", err)
	c, err = l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &reserveConn{Conn: c, l: l}, nil
}

// reserveConn is a client served from the reserve: closing it takes the
// spares back.
type reserveConn struct {
	net.Conn
	l    *reserveListener
	once sync.Once
}

// Close closes the connection and refills the reserve.
func (c *reserveConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.refill)
	return err
}

// refill opens spares up to controlReserve, as far as descriptors allow.
func (l *reserveListener) refill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.spare) < controlReserve {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return
		}
		l.spare = append(l.spare, f)
	}
}

// release closes the spares; it reports whether there were any.
func (l *reserveListener) release() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.spare) == 0 {
		return false
	}
	for _, f := range l.spare {
		f.Close()
	}
	l.spare = l.spare[:0]
	return true
}

// Close closes the listener and the spares.
func (l *reserveListener) Close() error {
	l.release()
	return l.Listener.Close()
}
