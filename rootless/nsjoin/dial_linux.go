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

// dialResult is a reply as the read loop hands it over.
type dialResult struct {
	fd    int
	err   error
	lost  string   // why a source asked for was not kept
	addrs []string // the answer to "addrs"
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
	req := request{Op: "dial", Network: network, Addr: addr.String()}
	if src.IsValid() {
		req.Src = src.String()
	}
	r, err := a.roundTrip(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("nsjoin: dial %s %v: %w", network, addr, err)
	}
	if r.fd < 0 {
		return nil, fmt.Errorf("nsjoin: dial %s %v: helper sent no descriptor", network, addr)
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

// roundTrip sends req (with the next ID, and a backstop timeout from ctx)
// and waits for its reply; ctx ending cancels it in the helper.
func (a *Agent) roundTrip(ctx context.Context, req request) (dialResult, error) {
	ch := make(chan dialResult, 1)
	a.mu.Lock()
	if a.dead != nil {
		err := a.dead
		a.mu.Unlock()
		return dialResult{}, err
	}
	a.nextID++
	req.ID = a.nextID
	a.pending[req.ID] = ch
	a.mu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		// A backstop only, later than ctx: the parent's own cancel comes
		// first, so that the caller sees ctx's error.
		req.TimeoutMS = max(1, time.Until(d).Milliseconds()+dialSlack.Milliseconds())
	}
	if err := sendMsg(a.conn, req, -1); err != nil {
		a.forget(req.ID)
		// The socket is the agent: if it cannot take a request, the
		// helper is gone (the read loop may not have noticed yet).
		return dialResult{}, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	var r dialResult
	select {
	case r = <-ch:
	case <-ctx.Done():
		if a.forget(req.ID) {
			_ = sendMsg(a.conn, request{Op: "cancel", ID: req.ID}, -1)
			return dialResult{}, ctx.Err()
		}
		r = <-ch // the reply won the race
	}
	if r.err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return dialResult{}, cerr
		}
		return dialResult{}, r.err
	}
	return r, nil
}

// TapAddrs returns the TAP's global IPv6 addresses that are ready for use
// (not tentative), as the namespace has them now (e.g. from SLAAC).
func (a *Agent) TapAddrs(ctx context.Context) ([]netip.Addr, error) {
	r, err := a.roundTrip(ctx, request{Op: "addrs"})
	if err != nil {
		return nil, fmt.Errorf("nsjoin: TAP addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(r.addrs))
	for _, s := range r.addrs {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip)
		}
	}
	return out, nil
}

// forget removes a pending dial and reports whether it was still pending.
func (a *Agent) forget(id uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.pending[id]
	delete(a.pending, id)
	return ok
}
