package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// udpMapping relays datagrams between clients and a backend, one flow
// (one connected backend socket) per client address.
type udpMapping struct {
	*base
	sock *packetSock

	mu     sync.Mutex
	flows  map[netip.AddrPort]*udpFlow
	closed bool
}

// udpFlow is one client's flow.
type udpFlow struct {
	client  netip.AddrPort
	backend net.Conn
	last    atomic.Int64             // unix nanoseconds of the last datagram either way
	reply   atomic.Pointer[replySrc] // where replies leave from
}

// replySrc is a reply source address and its control message.
type replySrc struct {
	local netip.Addr
	oob   []byte
}

// startUDP opens (or takes) the socket and starts the receive loop.
func startUDP(b *base) (*udpMapping, error) {
	pc := b.m.PacketConn
	if pc == nil {
		var err error
		pc, err = net.ListenUDP(network(UDP, b.m.Listen.Addr()), net.UDPAddrFromAddrPort(b.m.Listen))
		if err != nil {
			return nil, fmt.Errorf("failed to listen on %s: %w", b.m.Listen, err)
		}
	}
	sock, err := newPacketSock(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	b.local = addrPortOf(pc.LocalAddr())
	b.ctx, b.cancel = context.WithCancel(context.Background())
	u := &udpMapping{base: b, sock: sock, flows: make(map[netip.AddrPort]*udpFlow)}
	u.wg.Add(1)
	go u.readLoop()
	return u, nil
}

// readLoop receives client datagrams and passes each to its flow,
// creating flows up to the cap. It runs until the socket is closed.
func (u *udpMapping) readLoop() {
	defer u.wg.Done()
	buf := make([]byte, maxDatagram)
	oob := make([]byte, u.sock.oobLen)
	var delay time.Duration
	for {
		n, client, local, err := u.sock.read(buf, oob)
		if err != nil {
			if !u.backOff(&delay, "receive failed; backing off", err) {
				return
			}
			continue
		}
		delay = 0
		f := u.flow(client)
		if f == nil {
			continue
		}
		if r := f.reply.Load(); r == nil || r.local != local {
			f.reply.Store(&replySrc{local: local, oob: u.sock.replyOOB(local)})
		}
		f.last.Store(time.Now().UnixNano())
		if _, err := f.backend.Write(buf[:n]); err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				u.warn("send to backend failed", "client", client.String(), "err", err)
			}
			continue
		}
		u.ctr.datagramsIn.Add(1)
		u.ctr.bytesIn.Add(uint64(n))
	}
}

// flow returns client's flow, creating it if the table has room; nil if
// the datagram is to be dropped.
func (u *udpMapping) flow(client netip.AddrPort) *udpFlow {
	u.mu.Lock()
	f, ok := u.flows[client]
	full := len(u.flows) >= u.cfg.UDPMaxFlows
	u.mu.Unlock()
	if ok {
		return f
	}
	if full {
		u.ctr.refused.Add(1)
		u.warn("UDP flow table full; datagram dropped", "client", client.String(), "max", u.cfg.UDPMaxFlows)
		return nil
	}
	// Only this goroutine creates flows, so the table cannot have filled
	// up, nor gained this client, while the lock was not held.
	ctx, cancel := u.dialContext()
	bc, err := u.dialer.DialUDP(ctx, client, u.m.Backend)
	cancel()
	if err != nil {
		u.ctr.dialFailures.Add(1)
		u.warn("backend dial failed", "client", client.String(), "err", err)
		return nil
	}
	f = &udpFlow{client: client, backend: bc}
	f.last.Store(time.Now().UnixNano())
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		bc.Close()
		return nil
	}
	u.flows[client] = f
	u.mu.Unlock()
	u.ctr.accepted.Add(1)
	u.ctr.active.Add(1)
	u.wg.Add(1)
	go u.replyLoop(f)
	return f
}

// replyLoop relays the backend's datagrams to the client until the flow
// has been idle for UDPIdleTimeout or the mapping stops.
func (u *udpMapping) replyLoop(f *udpFlow) {
	defer u.wg.Done()
	defer u.ctr.active.Add(-1)
	defer f.backend.Close()
	defer u.forget(f)
	idle := u.cfg.UDPIdleTimeout
	buf := make([]byte, maxDatagram)
	for {
		f.backend.SetReadDeadline(time.Unix(0, f.last.Load()).Add(idle))
		n, err := f.backend.Read(buf)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				continue // nothing listens on the backend (yet): keep the flow
			case errors.As(err, &ne) && ne.Timeout():
				if time.Since(time.Unix(0, f.last.Load())) < idle {
					continue // the client sent something meanwhile
				}
				u.ctr.expired.Add(1)
			}
			return
		}
		f.last.Store(time.Now().UnixNano())
		var oob []byte
		if r := f.reply.Load(); r != nil {
			oob = r.oob
		}
		if err := u.sock.write(buf[:n], f.client, oob); err != nil {
			if u.ctx.Err() != nil {
				return
			}
			u.warn("send to client failed", "client", f.client.String(), "err", err)
			continue
		}
		u.ctr.datagramsOut.Add(1)
		u.ctr.bytesOut.Add(uint64(n))
	}
}

// forget removes f from the flow table.
func (u *udpMapping) forget(f *udpFlow) {
	u.mu.Lock()
	if u.flows[f.client] == f {
		delete(u.flows, f.client)
	}
	u.mu.Unlock()
}

// stop closes the socket and every flow, then waits for the goroutines.
func (u *udpMapping) stop() {
	u.cancel()
	u.sock.close()
	u.mu.Lock()
	u.closed = true
	for _, f := range u.flows {
		f.backend.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}
