// Package netstack adapts gVisor netstack endpoints to the flow engine:
// TCP and UDP connections (gonet's, plus a readiness wait) that let
// flow.Reader and flow.Relay wait for input without holding a buffer, and
// pass a reset on (SetLinger(0)).
package netstack

import (
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/switchyard/switchyard/flow"
)

// readyMask is what ends a wait for input: data, the end of the stream
// or an error.
const readyMask = waiter.ReadableEvents | waiter.EventHUp | waiter.EventErr

// waitable is the readiness wait shared by both kinds of connection: its
// channel entry is registered once, so a wait allocates nothing.
type waitable struct {
	wq    *waiter.Queue
	ep    tcpip.Endpoint
	entry waiter.Entry
	ch    chan struct{}
	fn    atomic.Pointer[func()]
	once  sync.Once
}

func (w *waitable) init(wq *waiter.Queue, ep tcpip.Endpoint) {
	w.wq, w.ep = wq, ep
	w.ch = make(chan struct{}, 1)
	w.entry = waiter.NewFunctionEntry(readyMask, w.notify)
	wq.EventRegister(&w.entry)
}

// notify runs on the stack's goroutines: it wakes a WaitRead and calls
// the OnReadable function.
func (w *waitable) notify(waiter.EventMask) {
	select {
	case w.ch <- struct{}{}:
	default:
	}
	if fn := w.fn.Load(); fn != nil {
		(*fn)()
	}
}

// Readable reports whether a read would not block (data, the end of the
// stream or an error).
func (w *waitable) Readable() bool { return w.ep.Readiness(readyMask) != 0 }

// OnReadable makes f run, on the stack's goroutines, whenever input may
// have arrived; f must not block.
func (w *waitable) OnReadable(f func()) { w.fn.Store(&f) }

// WaitRead returns once a read would not block (closing the endpoint
// wakes it too).
func (w *waitable) WaitRead() error {
	for w.ep.Readiness(readyMask) == 0 {
		<-w.ch
	}
	return nil
}

func (w *waitable) unregister() { w.once.Do(func() { w.wq.EventUnregister(&w.entry) }) }

// TCPConn is a netstack TCP connection for the flow engine.
type TCPConn struct {
	*gonet.TCPConn
	waitable
}

var _ flow.Notifier = (*TCPConn)(nil)

// NewTCPConn wraps a connected TCP endpoint and its wait queue.
func NewTCPConn(wq *waiter.Queue, ep tcpip.Endpoint) *TCPConn {
	c := &TCPConn{TCPConn: gonet.NewTCPConn(wq, ep)}
	c.init(wq, ep)
	return c
}

// Close closes the endpoint (waking a WaitRead).
func (c *TCPConn) Close() error {
	err := c.TCPConn.Close()
	c.unregister()
	return err
}

// SetLinger sets SO_LINGER as (*net.TCPConn).SetLinger does: 0 makes
// Close send a reset.
func (c *TCPConn) SetLinger(sec int) error {
	c.ep.SocketOptions().SetLinger(tcpip.LingerOption{Enabled: sec >= 0, Timeout: time.Duration(max(sec, 0)) * time.Second})
	return nil
}

// SetKeepAlive turns TCP keepalive on or off.
func (c *TCPConn) SetKeepAlive(on bool) error {
	c.ep.SocketOptions().SetKeepAlive(on)
	return nil
}

// UDPConn is a netstack UDP socket for the flow engine.
type UDPConn struct {
	*gonet.UDPConn
	waitable
}

var _ flow.Notifier = (*UDPConn)(nil)

// NewUDPConn wraps a UDP endpoint and its wait queue.
func NewUDPConn(wq *waiter.Queue, ep tcpip.Endpoint) *UDPConn {
	c := &UDPConn{UDPConn: gonet.NewUDPConn(wq, ep)}
	c.init(wq, ep)
	return c
}

// Close closes the endpoint (waking a WaitRead).
func (c *UDPConn) Close() error {
	err := c.UDPConn.Close()
	c.unregister()
	return err
}
