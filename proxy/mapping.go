package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/flow"
)

// Proto is a mapping's transport protocol.
type Proto string

// The protocols a mapping can have.
const (
	TCP Proto = "tcp"
	UDP Proto = "udp"
)

// Mapping describes one published port: where clients come in and which
// backend their traffic goes to.
type Mapping struct {
	// Proto is TCP or UDP.
	Proto Proto
	// Listen is the host address and port to listen on (port 0: any
	// free port). It is ignored when Listener or PacketConn is set.
	// 0.0.0.0 listens on IPv4 only and :: on IPv6 only (V6ONLY), as
	// docker-proxy does.
	Listen netip.AddrPort
	// Listener is an already-listening TCP socket to serve instead of
	// Listen (e.g. docker-proxy's fd 4). The mapping owns it.
	Listener net.Listener
	// PacketConn is an already-bound UDP socket to serve instead of
	// Listen. The mapping owns it. A *net.UDPConn bound to a wildcard
	// address gets replies sent from the address each client sent to.
	PacketConn net.PacketConn
	// Backend is the address traffic is relayed to.
	Backend netip.AddrPort
	// Dialer reaches Backend; nil uses the Proxy's Config.Dialer.
	Dialer Dialer
}

// MappingInfo describes a running mapping.
type MappingInfo struct {
	// ID names the mapping in Remove.
	ID ID
	// Proto is TCP or UDP.
	Proto Proto
	// Listen is the address the mapping's socket is bound to.
	Listen netip.AddrPort
	// Backend is the address traffic is relayed to.
	Backend netip.AddrPort
	// Stats are the mapping's counters.
	Stats Stats
}

func (m *Mapping) validate() error {
	switch m.Proto {
	case TCP:
		if m.PacketConn != nil {
			return errors.New("proxy: a TCP mapping takes a Listener, not a PacketConn")
		}
	case UDP:
		if m.Listener != nil {
			return errors.New("proxy: a UDP mapping takes a PacketConn, not a Listener")
		}
	default:
		return fmt.Errorf("unsupported protocol %s", m.Proto)
	}
	if m.Listener == nil && m.PacketConn == nil && !m.Listen.Addr().IsValid() {
		return fmt.Errorf("proxy: %s mapping without a listen address", m.Proto)
	}
	if !m.Backend.Addr().IsValid() || m.Backend.Port() == 0 {
		return fmt.Errorf("proxy: bad backend address %s", m.Backend)
	}
	return nil
}

// closeSockets closes the sockets handed over in m.
func (m *Mapping) closeSockets() {
	if m.Listener != nil {
		m.Listener.Close()
	}
	if m.PacketConn != nil {
		m.PacketConn.Close()
	}
}

// network is the Go network name for listening on addr, one family only.
func network(proto Proto, addr netip.Addr) string {
	if addr.Unmap().Is4() {
		return string(proto) + "4"
	}
	return string(proto) + "6"
}

// addPort returns ap with its port increased by i.
func addPort(ap netip.AddrPort, i int) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), ap.Port()+uint16(i))
}

// addrPortOf converts a net.Addr of the TCP/UDP kinds, unmapping
// IPv4-mapped IPv6 addresses; anything else gives the zero AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		return ap
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// base is what TCP and UDP mappings share.
type base struct {
	id     ID
	cfg    Config
	m      Mapping
	dialer Dialer
	log    *slog.Logger
	ctr    counters
	local  netip.AddrPort

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	lastWarn   atomic.Int64 // unix nanoseconds of the last rate-limited warning
	suppressed atomic.Uint64
}

func (b *base) info() MappingInfo {
	return MappingInfo{ID: b.id, Proto: b.m.Proto, Listen: b.local, Backend: b.m.Backend, Stats: b.ctr.snapshot()}
}

// dialContext bounds a dial by the configured timeout and the mapping's
// lifetime.
func (b *base) dialContext() (context.Context, context.CancelFunc) {
	if b.cfg.DialTimeout < 0 {
		return context.WithCancel(b.ctx)
	}
	return context.WithTimeout(b.ctx, b.cfg.DialTimeout)
}

// warn logs at most one warning a second per mapping, saying how many
// were left out in between.
func (b *base) warn(msg string, args ...any) {
	now := b.cfg.Clock.Now().UnixNano()
	last := b.lastWarn.Load()
	if now-last < int64(time.Second) || !b.lastWarn.CompareAndSwap(last, now) {
		b.suppressed.Add(1)
		return
	}
	if n := b.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	b.log.Warn(msg, args...)
}

// newBackoff returns the pacing of a mapping's accept or receive loop.
func (b *base) newBackoff() *flow.Backoff {
	return &flow.Backoff{Max: b.cfg.MaxAcceptBackoff}
}

// backOff handles a failed accept or receive: it reports false when the
// mapping is closing (the loop is to end); otherwise it counts the error,
// warns with msg and pauses (doubling up to MaxAcceptBackoff), and
// reports whether the mapping still runs.
func (b *base) backOff(bo *flow.Backoff, msg string, err error) bool {
	if b.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return false
	}
	b.ctr.acceptErrors.Add(1)
	d := bo.Next()
	b.warn(msg, "err", err, "pause", d)
	return flow.Sleep(b.ctx, b.cfg.Clock, d)
}
