package dns

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tcpConn is one TCP connection being served.
type tcpConn struct {
	c net.Conn
	// idleSince is when the connection started waiting for a query (Unix
	// ns), 0 while a query is arriving or being answered.
	idleSince atomic.Int64
}

// tcpConns is the set of TCP connections being served, at most max.
type tcpConns struct {
	mu  sync.Mutex
	max int
	m   map[*tcpConn]struct{}
}

// admit adds tc. At the cap it closes the connection idle the longest to
// make room (RFC 7766 §6.2.3: servers may close idle connections when
// under pressure), so idle clients cannot lock out new queries; when every
// connection is busy it refuses tc. It returns whether tc was admitted and
// whether an idle connection was closed for it.
func (t *tcpConns) admit(tc *tcpConn) (ok, evicted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) < t.max {
		t.m[tc] = struct{}{}
		return true, false
	}
	var oldest *tcpConn
	for o := range t.m {
		if s := o.idleSince.Load(); s != 0 && (oldest == nil || s < oldest.idleSince.Load()) {
			oldest = o
		}
	}
	if oldest == nil {
		return false, false
	}
	delete(t.m, oldest)
	_ = oldest.c.Close()
	t.m[tc] = struct{}{}
	return true, true
}

// remove forgets tc (a no-op when admit already evicted it).
func (t *tcpConns) remove(tc *tcpConn) {
	t.mu.Lock()
	delete(t.m, tc)
	t.mu.Unlock()
}

func (tc *tcpConn) markIdle() { tc.idleSince.Store(time.Now().UnixNano()) }
func (tc *tcpConn) markBusy() { tc.idleSince.Store(0) }
