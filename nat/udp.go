package nat

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// maxDatagram is the largest UDP payload relayed.
const maxDatagram = 65535

// handleUDP runs for the first datagram of a new (endpoint, destination)
// pair: it opens a connected host socket and relays both ways until the
// flow has been idle for UDPIdle. Returning false makes the stack answer
// ICMP port unreachable.
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
	guest := gonet.NewUDPConn(&wq, ep)
	if !n.track(guest) || !n.track(host) {
		guest.Close()
		host.Close()
		n.table.remove(f)
		return true
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.relayUDP(guest, host, f)
		n.untrack(guest)
		n.untrack(host)
		n.table.remove(f)
	}()
	return true
}

// relayUDP moves datagrams both ways; the flow ends when neither side has
// sent anything for UDPIdle, or on an error.
func (n *NAT) relayUDP(guest *gonet.UDPConn, host net.Conn, f *Flow) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	idle := n.cfg.UDPIdle
	var wg sync.WaitGroup
	wg.Add(2)
	one := func(dst, src net.Conn, count *atomic.Uint64) {
		defer wg.Done()
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, maxDatagram)
		for {
			src.SetReadDeadline(time.Unix(0, last.Load()).Add(idle))
			k, err := src.Read(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < idle {
					continue // the other direction was active
				}
				return
			}
			last.Store(time.Now().UnixNano())
			if _, err := dst.Write(buf[:k]); err != nil {
				return
			}
			count.Add(uint64(k))
		}
	}
	go one(host, guest, &f.ToDest)
	go one(guest, host, &f.FromDest)
	wg.Wait()
}
