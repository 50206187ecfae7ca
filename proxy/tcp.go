package proxy

import (
	"context"
	"fmt"
	"net"

	"github.com/switchyard/switchyard/flow"
)

// tcpMapping accepts connections and relays each to a backend connection.
type tcpMapping struct {
	*base
	ln    net.Listener
	conns flow.Tracker // client and backend connections open now
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
	t := &tcpMapping{base: b, ln: ln}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// acceptLoop runs until the listener is closed. Accept errors are counted
// and followed by a pause that doubles up to MaxAcceptBackoff.
func (t *tcpMapping) acceptLoop() {
	defer t.wg.Done()
	bo := t.newBackoff()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if !t.backOff(bo, "accept failed; backing off", err) {
				return
			}
			continue
		}
		bo.Reset()
		t.ctr.accepted.Add(1)
		if !t.conns.Add(c) {
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
	defer t.conns.Remove(c)
	if t.m.Listener != nil {
		flow.SetKeepAlive(c, t.cfg.KeepAlive) // our own listeners set it on accept
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
	if !t.conns.Add(bc) {
		bc.Close()
		c.Close()
		return
	}
	defer t.conns.Remove(bc)
	flow.Relay(c, bc, &t.ctr.bytesIn, &t.ctr.bytesOut)
}

// stop closes the listener and every connection, then waits for the
// mapping's goroutines.
func (t *tcpMapping) stop() {
	t.cancel()
	t.ln.Close()
	t.conns.Close()
	t.wg.Wait()
}
