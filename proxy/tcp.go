package proxy

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// tcpMapping accepts connections and relays each to a backend connection.
type tcpMapping struct {
	*base
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // client and backend connections open now
	closed bool
}

// startTCP opens (or takes) the listener and starts the accept loop.
func startTCP(b *base) (*tcpMapping, error) {
	ln := b.m.Listener
	if ln == nil {
		lc := net.ListenConfig{KeepAlive: b.cfg.KeepAlive}
		var err error
		ln, err = lc.Listen(context.Background(), network(TCP, b.m.Listen.Addr()), b.m.Listen.String())
		if err != nil {
			return nil, fmt.Errorf("failed to listen on %s: %w", b.m.Listen, err)
		}
	}
	b.local = addrPortOf(ln.Addr())
	b.ctx, b.cancel = context.WithCancel(context.Background())
	t := &tcpMapping{base: b, ln: ln, conns: make(map[net.Conn]struct{})}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// acceptLoop runs until the listener is closed. Accept errors are counted
// and followed by a pause that doubles up to MaxAcceptBackoff.
func (t *tcpMapping) acceptLoop() {
	defer t.wg.Done()
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if !t.backOff(&delay, "accept failed; backing off", err) {
				return
			}
			continue
		}
		delay = 0
		t.ctr.accepted.Add(1)
		if !t.track(c) {
			c.Close()
			return
		}
		t.ctr.active.Add(1)
		t.wg.Add(1)
		go t.handle(c)
	}
}

// handle dials the backend for client c and relays until both directions
// are done. A failed dial closes c: the client sees accept, then EOF.
func (t *tcpMapping) handle(c net.Conn) {
	defer t.wg.Done()
	defer t.ctr.active.Add(-1)
	defer t.untrack(c)
	if t.m.Listener != nil {
		setKeepAlive(c, t.cfg.KeepAlive) // our own listeners set it on accept
	}
	client := addrPortOf(c.RemoteAddr())
	ctx, cancel := t.dialContext()
	bc, err := t.dialer.DialTCP(ctx, client, t.m.Backend)
	cancel()
	if err != nil {
		c.Close()
		if t.ctx.Err() != nil {
			return // removed while dialing
		}
		t.ctr.dialFailures.Add(1)
		t.warn("backend dial failed", "client", client.String(), "err", err)
		return
	}
	if !t.track(bc) {
		bc.Close()
		c.Close()
		return
	}
	defer t.untrack(bc)
	relay(c, bc, &t.ctr.bytesIn, &t.ctr.bytesOut)
}

// track registers a connection so that stop can close it; it reports
// false once the mapping is stopping.
func (t *tcpMapping) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tcpMapping) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// stop closes the listener and every connection, then waits for the
// mapping's goroutines.
func (t *tcpMapping) stop() {
	t.cancel()
	t.ln.Close()
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// setKeepAlive turns TCP keepalive on (period d) or off (d < 0).
func setKeepAlive(c net.Conn, d time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if d < 0 {
		tc.SetKeepAlive(false)
		return
	}
	tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: d, Interval: d})
}
