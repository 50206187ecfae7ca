package nsjoin

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// dialSlack is how much longer than the caller's deadline the helper's own
// dial timeout runs.
const dialSlack = 250 * time.Millisecond

// dialResult is a dial's reply as the read loop hands it over.
type dialResult struct {
	fd   int
	err  error
	lost string // why a source asked for was not kept
}

// DialTCP connects to addr from inside the target network namespace (for
// port forwards that bypass the TAP) and returns the connection. ctx bounds
// the connect.
func (a *Agent) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return a.dial(ctx, "tcp", netip.Addr{}, addr)
}

// DialTCPFrom is DialTCP with the connection coming from src, a client's
// address that need not exist in the namespace (a transparent socket,
// with policy routing that brings the guest's replies back to it; see
// srckeep_linux.go). Where that cannot be done (IPv6, no permission for
// the routing) it dials as DialTCP does and logs why, once.
func (a *Agent) DialTCPFrom(ctx context.Context, src netip.Addr, addr netip.AddrPort) (net.Conn, error) {
	return a.dial(ctx, "tcp", src, addr)
}

// DialUDPFrom is DialUDP with the datagrams coming from src, as
// DialTCPFrom does for TCP (the guest's replies are routed back by their
// conntrack mark).
func (a *Agent) DialUDPFrom(ctx context.Context, src netip.Addr, addr netip.AddrPort) (net.Conn, error) {
	return a.dial(ctx, "udp", src, addr)
}

// DialUDP returns a UDP socket inside the target network namespace,
// connected to addr.
func (a *Agent) DialUDP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return a.dial(ctx, "udp", netip.Addr{}, addr)
}

// dial asks the helper for a connected socket.
func (a *Agent) dial(ctx context.Context, network string, src netip.Addr, addr netip.AddrPort) (net.Conn, error) {
	if !addr.IsValid() {
		return nil, fmt.Errorf("nsjoin: dial %s: invalid address %v", network, addr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, err)
	}
	ch := make(chan dialResult, 1)
	a.mu.Lock()
	if a.dead != nil {
		err := a.dead
		a.mu.Unlock()
		return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, err)
	}
	a.nextID++
	id := a.nextID
	a.pending[id] = ch
	a.mu.Unlock()

	req := request{Op: "dial", ID: id, Network: network, Addr: addr.String()}
	if src.IsValid() {
		req.Src = src.String()
	}
	if d, ok := ctx.Deadline(); ok {
		// A backstop only, later than ctx: the parent's own cancel comes
		// first, so that the caller sees ctx's error.
		req.TimeoutMS = max(1, time.Until(d).Milliseconds()+dialSlack.Milliseconds())
	}
	if err := sendMsg(a.conn, req, -1); err != nil {
		a.forget(id)
		// The socket is the agent: if it cannot take a request, the
		// helper is gone (the read loop may not have noticed yet).
		return nil, fmt.Errorf("nsjoin: dial %s %v: %w: %w", network, addr, ErrClosed, err)
	}
	var r dialResult
	select {
	case r = <-ch:
	case <-ctx.Done():
		if a.forget(id) {
			_ = sendMsg(a.conn, request{Op: "cancel", ID: id}, -1)
			return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, ctx.Err())
		}
		r = <-ch // the reply won the race
	}
	if r.err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, cerr)
		}
		return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, r.err)
	}
	if r.lost != "" {
		a.srcWarn.Do(func() {
			a.log.Warn("nsjoin: a port forward could not keep the client's address (the guest sees its own; said once)", "why", r.lost)
		})
	}
	f := os.NewFile(uintptr(r.fd), "nsjoin-"+network)
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, err)
	}
	return c, nil
}

// forget removes a pending dial and reports whether it was still pending.
func (a *Agent) forget(id uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.pending[id]
	delete(a.pending, id)
	return ok
}
