package nat

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/switchyard/switchyard/flow"
	"github.com/switchyard/switchyard/flow/netstack"
)

// udpFlow is a UDP flow's two sockets: the endpoint's side in the
// netstack and the host's.
type udpFlow struct {
	guest *netstack.UDPConn
	host  net.Conn
}

// Close closes both sockets (the flow table calls it at expiry).
func (u *udpFlow) Close() error {
	u.guest.Close()
	return u.host.Close()
}

// handleUDP runs for the first datagram of a new (endpoint, destination)
// pair: it opens a connected host socket and relays both ways until the
// flow table expires the flow (UDPIdle without a datagram either way).
// Returning false makes the stack answer ICMP port unreachable.
func (n *NAT) handleUDP(r *udp.ForwarderRequest) bool {
	id := r.ID()
	f := &Flow{Proto: "udp", Endpoint: addrPort(id.RemoteAddress, id.RemotePort),
		Dest: addrPort(id.LocalAddress, id.LocalPort), Started: n.cfg.Now()}
	target, ok := n.target(f.Dest)
	if !ok {
		n.table.policy.Add(1)
		return false
	}
	f.Target = target
	if !n.table.add(f) {
		return false
	}
	// The same dialer as TCP, so an outbound source address applies to UDP
	// too; a UDP "dial" only binds and connects, it never blocks.
	host, err := n.cfg.Dial(n.ctx, "udp", target.String())
	if err != nil {
		n.table.failed.Add(1)
		n.table.remove(f)
		return false
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		host.Close()
		n.table.remove(f)
		return false
	}
	uf := &udpFlow{guest: netstack.NewUDPConn(&wq, ep), host: host}
	if !n.conns.Hold(uf) {
		uf.Close()
		n.table.remove(f)
		return true
	}
	e, added, err := n.udp.Add(f, uf, uf)
	if err != nil || !added {
		uf.Close()
		n.conns.Release(uf)
		n.table.remove(f)
		return true
	}
	var ends atomic.Int32
	end := func() {
		uf.Close()
		if ends.Add(1) == 2 {
			n.udp.Remove(e)
			n.table.remove(f)
			n.conns.Release(uf)
		}
	}
	// The endpoint's side is read on its notifications (no goroutine
	// while the flow is idle); the host's by a goroutine.
	if !flow.Pump(uf.guest, true, n.sender(e, uf.host, &f.ToDest), refused, func(error) { end() }) {
		go func() {
			defer end()
			n.relayUDP(e, uf.host, uf.guest, &f.ToDest)
		}()
	}
	go func() {
		defer end()
		n.relayUDP(e, uf.guest, uf.host, &f.FromDest)
	}()
	return true
}

// refused reports an error that leaves a UDP flow open: the destination
// answered with ICMP port unreachable.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// sender returns the function that passes one datagram of e's flow to
// dst, counting it.
func (n *NAT) sender(e *flow.Entry[*Flow, *udpFlow], dst net.Conn, count *atomic.Uint64) func([]byte) error {
	return func(b []byte) error {
		n.udp.Touch(e)
		if _, err := dst.Write(b); err != nil {
			return err
		}
		count.Add(uint64(len(b)))
		return nil
	}
}

// relayUDP moves datagrams from src to dst, touching the flow's entry,
// until either socket is closed or fails. Waiting, it holds no buffer.
func (n *NAT) relayUDP(e *flow.Entry[*Flow, *udpFlow], dst, src net.Conn, count *atomic.Uint64) {
	r := flow.NewReader(src, true)
	defer r.Release()
	send := n.sender(e, dst, count)
	for {
		if err := r.Next(send); err != nil && !refused(err) {
			return
		}
	}
}
