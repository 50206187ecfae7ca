package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"github.com/switchyard/switchyard/flow"
)

// udpMapping relays datagrams between clients and a backend, one flow
// (one connected backend socket) per client address, in a flow.Table.
type udpMapping struct {
	*base
	sock  *packetSock
	flows *flow.Table[netip.AddrPort, *udpFlow]
}

// udpFlow is one client's flow.
type udpFlow struct {
	u       *udpMapping
	entry   *flow.Entry[netip.AddrPort, *udpFlow]
	client  netip.AddrPort
	backend net.Conn
	reply   atomic.Pointer[replySrc] // where replies leave from
	send    func([]byte) error       // toClient, bound once
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
	u := &udpMapping{base: b, sock: sock, flows: flow.NewTable[netip.AddrPort, *udpFlow](flow.TableConfig{
		Max: b.cfg.UDPMaxFlows, Idle: b.cfg.UDPIdleTimeout, Clock: b.cfg.Clock})}
	u.wg.Add(1)
	go u.readLoop()
	return u, nil
}

// info adds the flow table's counters to the mapping's.
func (u *udpMapping) info() MappingInfo {
	mi := u.base.info()
	ts := u.flows.Stats()
	mi.Stats.Refused, mi.Stats.Expired = ts.Refused, ts.Expired
	return mi
}

// readLoop receives client datagrams and passes each to its flow,
// creating flows up to the cap. It runs until the socket is closed.
func (u *udpMapping) readLoop() {
	defer u.wg.Done()
	buf := make([]byte, maxDatagram)
	oob := make([]byte, u.sock.oobLen)
	bo := u.newBackoff()
	for {
		n, client, local, err := u.sock.read(buf, oob)
		if err != nil {
			if !u.backOff(bo, "receive failed; backing off", err) {
				return
			}
			continue
		}
		bo.Reset()
		f := u.flow(client)
		if f == nil {
			continue
		}
		if r := f.reply.Load(); r == nil || r.local != local {
			f.reply.Store(&replySrc{local: local, oob: u.sock.replyOOB(local)})
		}
		u.flows.Touch(f.entry)
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
// the datagram is to be dropped. Only readLoop creates flows.
func (u *udpMapping) flow(client netip.AddrPort) *udpFlow {
	if e, ok := u.flows.Get(client); ok {
		return e.Value
	}
	if !u.flows.Admit() {
		u.warn("UDP flow table full; datagram dropped", "client", client.String(), "max", u.cfg.UDPMaxFlows)
		return nil
	}
	ctx, cancel := u.dialContext()
	bc, err := u.dialer.DialUDP(ctx, client, u.m.Backend)
	cancel()
	if err != nil {
		u.ctr.dialFailures.Add(1)
		u.warn("backend dial failed", "client", client.String(), "err", err)
		return nil
	}
	f := &udpFlow{u: u, client: client, backend: bc}
	f.send = f.toClient
	e, ok, err := u.flows.Add(client, f, bc)
	if err != nil || !ok {
		bc.Close()
		return nil
	}
	f.entry = e
	u.ctr.accepted.Add(1)
	u.ctr.active.Add(1)
	u.wg.Add(1)
	// A netstack backend is read on its notifications (no goroutine while
	// the flow is idle); a host socket by a goroutine of its own.
	if !flow.Pump(bc, true, f.send, u.keepFlow, func(error) { u.endFlow(f) }) {
		go u.replyLoop(f)
	}
	return f
}

// keepFlow tells the reply errors that leave the flow open: nothing
// listening on the backend (yet), or a failed send to the client.
func (u *udpMapping) keepFlow(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.Is(err, errClientSend) && u.ctx.Err() == nil)
}

// endFlow ends f once its replies stopped.
func (u *udpMapping) endFlow(f *udpFlow) {
	u.flows.Remove(f.entry)
	f.backend.Close()
	u.ctr.active.Add(-1)
	u.wg.Done()
}

// replyLoop relays the backend's datagrams to the client until the flow
// table expires the flow (closing its backend socket) or the mapping
// stops. While waiting it holds no buffer: each datagram is read into one
// of the flow engine's shared buffers.
func (u *udpMapping) replyLoop(f *udpFlow) {
	defer u.endFlow(f)
	r := flow.NewReader(f.backend, true)
	defer r.Release()
	for {
		if err := r.Next(f.send); err != nil && !u.keepFlow(err) {
			return
		}
	}
}

// errClientSend marks a failed send to the client (the flow goes on).
var errClientSend = errors.New("send to client failed")

// toClient sends one backend datagram to the flow's client.
func (f *udpFlow) toClient(b []byte) error {
	u := f.u
	u.flows.Touch(f.entry)
	var oob []byte
	if r := f.reply.Load(); r != nil {
		oob = r.oob
	}
	if err := u.sock.write(b, f.client, oob); err != nil {
		if u.ctx.Err() == nil {
			u.warn("send to client failed", "client", f.client.String(), "err", err)
		}
		return errClientSend
	}
	u.ctr.datagramsOut.Add(1)
	u.ctr.bytesOut.Add(uint64(len(b)))
	return nil
}

// stop closes the socket and every flow, then waits for the goroutines.
func (u *udpMapping) stop() {
	u.cancel()
	u.sock.close()
	u.flows.Close()
	u.wg.Wait()
}
