package nat

import (
	"context"

	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/switchyard/switchyard/flow"
	"github.com/switchyard/switchyard/flow/netstack"
)

// handleTCP runs once per SYN (on a goroutine gVisor's forwarder started
// for it, which then relays the connection until it ends): the
// host-side connection is dialed first, and the endpoint's SYN is answered
// only when it succeeded; otherwise the endpoint gets a RST. The flow is
// then relayed by flow.Relay (half-closes and resets passed on; no buffer
// held while a direction waits).
func (n *NAT) handleTCP(r *tcp.ForwarderRequest) {
	id := r.ID()
	f := &Flow{Proto: "tcp", Endpoint: addrPort(id.RemoteAddress, id.RemotePort),
		Dest: addrPort(id.LocalAddress, id.LocalPort), Started: n.cfg.Now()}
	target, ok := n.target(f.Dest)
	if !ok {
		n.table.policy.Add(1)
		r.Complete(true)
		return
	}
	f.Target = target
	if !n.table.add(f) {
		r.Complete(true)
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.DialTimeout)
	host, err := n.cfg.Dial(ctx, "tcp", target.String())
	cancel()
	if err != nil {
		n.table.failed.Add(1)
		n.table.remove(f)
		r.Complete(true)
		n.cfg.Log.Debug("nat: dial failed", "endpoint", f.Endpoint, "dest", target, "err", err)
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		host.Close()
		n.table.remove(f)
		r.Complete(true)
		return
	}
	r.Complete(false)
	ep.SocketOptions().SetKeepAlive(true)
	guest := netstack.NewTCPConn(&wq, ep)
	if !n.conns.Hold(guest, host) {
		guest.Close()
		host.Close()
		n.table.remove(f)
		return
	}
	// gVisor runs each request on a goroutine of its own: the relay goes
	// on on it (one goroutine fewer to start per connection).
	flow.Relay(guest, host, &f.ToDest, &f.FromDest)
	n.conns.Release(guest, host)
	n.table.remove(f)
}
