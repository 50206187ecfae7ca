package nat

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// handleTCP runs once per SYN (on a goroutine of gVisor's forwarder): the
// host-side connection is dialed first, and the endpoint's SYN is answered
// only when it succeeded; otherwise the endpoint gets a RST.
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
	guest := gonet.NewTCPConn(&wq, ep)
	if !n.track(guest) || !n.track(host) {
		guest.Close()
		host.Close()
		n.table.remove(f)
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		relayTCP(guest, host, f)
		n.untrack(guest)
		n.untrack(host)
		n.table.remove(f)
	}()
}

// halfCloser is a connection whose sending side can be shut on its own.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// relayTCP copies both ways until both directions ended. When one side
// stops sending (EOF), the other side's sending half is closed, so a
// half-close crosses the NAT; an error (RST) on either side ends both.
func relayTCP(guest *gonet.TCPConn, host net.Conn, f *Flow) {
	var wg sync.WaitGroup
	wg.Add(2)
	one := func(dst, src net.Conn, count func(int)) {
		defer wg.Done()
		err := copyCounting(dst, src, count)
		if err == nil {
			if hc, ok := dst.(halfCloser); ok {
				hc.CloseWrite()
				return
			}
		}
		dst.Close()
		src.Close()
	}
	go one(host, guest, func(n int) { f.ToDest.Add(uint64(n)) })
	go one(guest, host, func(n int) { f.FromDest.Add(uint64(n)) })
	wg.Wait()
	guest.Close()
	host.Close()
}

// copyBufs holds relay buffers: large, because gVisor hands over up to
// 64 KiB per read.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyCounting copies src to dst until EOF (nil) or an error.
func copyCounting(dst, src net.Conn, count func(int)) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			count(n)
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}
