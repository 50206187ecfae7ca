package vxlan

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// maxDatagram is the largest VXLAN datagram received: an inner jumbo frame
// of 9000 bytes of MTU plus headers fits.
const maxDatagram = 9216

// Socket is one UDP port of the underlay shared by the tunnels of every
// VNI on it. Its reader goroutine receives in batches and hands each
// frame to its VNI's tunnel.
type Socket struct {
	cfg     Config
	conn    *net.UDPConn
	rc      syscall.RawConn
	port    uint16
	tunnels atomic.Pointer[map[uint32]*Tunnel]
	mu      sync.Mutex // serialises tunnel add/remove
	closed  atomic.Bool
	done    chan struct{}
	rd      reader
	rxBad   atomic.Uint64
	rxVNI   atomic.Uint64
}

// reader is the receive loop's scratch, touched by its goroutine only.
type reader struct {
	rx *mmsg.Receiver
	fs []*port.Frame
}

// Listen opens the UDP socket and starts its reader.
func Listen(cfg Config) (*Socket, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("vxlan: port %d out of range", cfg.Port)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = 4 << 20
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	addr := cfg.Addr
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	if !addr.Unmap().Is4() {
		return nil, fmt.Errorf("vxlan: local address %s: only IPv4 underlays are supported", addr)
	}
	var conn *net.UDPConn
	open := func() error {
		var err error
		conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Unmap(), uint16(cfg.Port))))
		return err
	}
	if err := nsutil.In(cfg.Netns, open); err != nil {
		return nil, fmt.Errorf("vxlan: listen on %s:%d: %w", addr, cfg.Port, err)
	}
	return start(cfg, conn)
}

func start(cfg Config, conn *net.UDPConn) (*Socket, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("vxlan: %w", err)
	}
	rc.Control(func(fd uintptr) { mmsg.SetBuffers(int(fd), cfg.BufferBytes) })
	s := &Socket{cfg: cfg, conn: conn, rc: rc, port: uint16(cfg.Port), done: make(chan struct{})}
	s.tunnels.Store(&map[uint32]*Tunnel{})
	s.rd = reader{rx: mmsg.NewReceiver(rc, cfg.Batch, unix.SizeofSockaddrInet4, 0), fs: make([]*port.Frame, cfg.Batch)}
	for i := range s.rd.fs {
		s.rd.fs[i] = port.Get(maxDatagram)
	}
	go s.readLoop()
	return s, nil
}

// Port returns the UDP port the socket receives on and sends to.
func (s *Socket) Port() int { return int(s.port) }

// Tunnel adds a port for cfg.VNI to the socket.
func (s *Socket) Tunnel(cfg TunnelConfig) (*Tunnel, error) {
	t, err := newTunnel(s, cfg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.tunnels.Load()
	if _, ok := old[cfg.VNI]; ok || s.closed.Load() {
		close(t.closed)
		t.wg.Wait()
		if s.closed.Load() {
			return nil, fmt.Errorf("vxlan: socket closed")
		}
		return nil, fmt.Errorf("VNI %d: %w", cfg.VNI, ErrVNIInUse)
	}
	next := make(map[uint32]*Tunnel, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[cfg.VNI] = t
	s.tunnels.Store(&next)
	return t, nil
}

// remove forgets t (its Close calls it).
func (s *Socket) remove(t *Tunnel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.tunnels.Load()
	if old[t.cfg.VNI] != t {
		return
	}
	next := make(map[uint32]*Tunnel, len(old))
	for k, v := range old {
		if k != t.cfg.VNI {
			next[k] = v
		}
	}
	s.tunnels.Store(&next)
}

// Tunnels returns how many tunnels use the socket.
func (s *Socket) Tunnels() int { return len(*s.tunnels.Load()) }

// Close closes the socket and waits for its reader. Tunnels still on it
// fail their writes with port.ErrClosed.
func (s *Socket) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.conn.Close()
	<-s.done
	for _, f := range s.rd.fs {
		port.Put(f)
	}
	return err
}

func (s *Socket) isClosed() bool { return s.closed.Load() }

// readLoop receives batches until the socket closes, each datagram
// placed so the inner frame starts at the frame's headroom offset.
func (s *Socket) readLoop() {
	defer close(s.done)
	r := &s.rd
	for {
		for i, f := range r.fs {
			r.rx.SetBuf(i, f.Buf()[port.Headroom-HeaderLen:])
		}
		n, err := r.rx.Receive()
		if n > 0 {
			s.dispatch(n)
		}
		if err != nil {
			if !s.closed.Load() && !errors.Is(err, net.ErrClosed) {
				s.cfg.Log.Warn("vxlan socket read failed, stopping", "port", s.port, "err", err)
			}
			return
		}
	}
}

// dispatch hands the first n received datagrams to their tunnels.
func (s *Socket) dispatch(n int) {
	r := &s.rd
	tunnels := *s.tunnels.Load()
	now := s.cfg.Clock.Now().UnixNano()
	for i := range n {
		f := r.fs[i]
		size := int(r.rx.Msgs[i].N)
		if r.rx.Truncated(i) {
			s.rxBad.Add(1)
			continue
		}
		vni, err := ParseHeader(f.Buf()[port.Headroom-HeaderLen : port.Headroom-HeaderLen+size])
		if err != nil {
			s.rxBad.Add(1)
			continue
		}
		t := tunnels[vni]
		if t == nil {
			s.rxVNI.Add(1)
			continue
		}
		f.Off, f.Len = port.Headroom, size-HeaderLen
		if t.accept(f, r.rx.Inet4(i), now) {
			r.fs[i] = port.Get(maxDatagram)
		}
	}
}

// Stats returns the socket's counters.
func (s *Socket) Stats() SocketStats {
	return SocketStats{RxBad: s.rxBad.Load(), RxUnknownVNI: s.rxVNI.Load()}
}
