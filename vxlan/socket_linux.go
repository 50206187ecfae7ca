package vxlan

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// maxDatagram is the largest read: a batch of datagrams the kernel
// coalesced (UDP_GRO), or one datagram of any size.
const maxDatagram = 65535

// Socket is one UDP port of the underlay shared by the tunnels of every
// VNI on it. The reader of one of its tunnels receives in batches and
// hands each frame to its VNI's tunnel; it sends from a set of sockets on
// ephemeral ports, chosen by a hash of the inner flow.
type Socket struct {
	cfg     Config
	conn    *net.UDPConn
	rc      syscall.RawConn
	port    uint16
	senders []sender // the source ports, chosen by flow hash
	gso     bool     // the kernel takes UDP_SEGMENT
	tunnels atomic.Pointer[map[uint32]*Tunnel]
	mu      sync.Mutex // serialises tunnel add/remove
	closed  atomic.Bool
	rdMu    sync.Mutex // held by the tunnel reader that reads the socket
	rd      reader
	rxBad   atomic.Uint64
	rxVNI   atomic.Uint64
}

// reader is the receive loop's scratch, touched under rdMu only.
type reader struct {
	rx *mmsg.Receiver
	fs []*port.Frame
	g  groReader
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
	if cfg.SourcePorts <= 0 {
		cfg.SourcePorts = 8
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
	var senders []sender
	open := func() error {
		var err error
		conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Unmap(), uint16(cfg.Port))))
		if err == nil {
			if senders, err = openSenders(addr.Unmap(), cfg.SourcePorts, cfg.BufferBytes); err != nil {
				conn.Close()
			}
		}
		return err
	}
	if err := nsutil.In(cfg.Netns, open); err != nil {
		return nil, fmt.Errorf("vxlan: listen on %s:%d: %w", addr, cfg.Port, err)
	}
	return start(cfg, conn, senders)
}

func start(cfg Config, conn *net.UDPConn, senders []sender) (*Socket, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		closeSenders(senders)
		return nil, fmt.Errorf("vxlan: %w", err)
	}
	rc.Control(func(fd uintptr) {
		mmsg.SetBuffers(int(fd), cfg.BufferBytes)
		enableGRO(fd)
	})
	s := &Socket{cfg: cfg, conn: conn, rc: rc, port: uint16(cfg.Port), senders: senders, gso: gsoSupported(senders[0].rc)}
	s.tunnels.Store(&map[uint32]*Tunnel{})
	s.rd = reader{rx: mmsg.NewReceiver(rc, cfg.Batch, unix.SizeofSockaddrInet4, groCtrlLen), fs: make([]*port.Frame, cfg.Batch)}
	for i := range s.rd.fs {
		s.rd.fs[i] = port.Get(maxDatagram)
	}
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
	closeSenders(s.senders)
	s.rdMu.Lock() // the reader in the socket returns: it is closed
	for _, f := range s.rd.fs {
		port.Put(f)
	}
	s.rd.fs = nil
	s.rdMu.Unlock()
	return err
}

func (s *Socket) isClosed() bool { return s.closed.Load() }

// readBatch receives one batch, waiting for it, each datagram placed so
// the inner frame starts at the frame's headroom offset, and hands the
// frames to their tunnels; the caller holds rdMu. There is no reader
// goroutine of the socket's own: the reader of one of its tunnels reads
// it (see Tunnel.ReadFrames), so a frame for that tunnel reaches the
// switch without a goroutine hand-off.
func (s *Socket) readBatch() error {
	if s.closed.Load() {
		return net.ErrClosed
	}
	r := &s.rd
	for i, f := range r.fs {
		r.rx.SetBuf(i, f.Buf()[port.Headroom-HeaderLen:])
	}
	n, err := r.rx.Receive()
	if n > 0 {
		s.dispatch(n)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A kick (Tunnel.Close, a locally answered ARP).
		_ = s.conn.SetReadDeadline(time.Time{})
		return nil
	}
	return err
}

// wakeOthers lets the other tunnels' readers take over reading.
func (s *Socket) wakeOthers(t *Tunnel) {
	for _, u := range *s.tunnels.Load() {
		if u != t {
			select {
			case u.wake <- struct{}{}:
			default:
			}
		}
	}
}

// kick interrupts the tunnel reader waiting in the socket, so it looks at
// its tunnel again.
func (s *Socket) kick() { _ = s.conn.SetReadDeadline(time.Now()) }

// dispatch hands the first n received datagrams to their tunnels; the
// reader keeps its buffers (frames are copied out, coalesced).
func (s *Socket) dispatch(n int) {
	r := &s.rd
	tunnels := *s.tunnels.Load()
	now := s.cfg.Clock.Now().UnixNano()
	for i := range n {
		if r.rx.Truncated(i) {
			s.rxBad.Add(1)
			continue
		}
		buf := r.fs[i].Buf()[port.Headroom-HeaderLen:]
		s.deliver(buf[:r.rx.Msgs[i].N], r.segSize(i), tunnels, r.rx.Inet4(i), now)
	}
	s.finish(now)
}

// Stats returns the socket's counters.
func (s *Socket) Stats() SocketStats {
	return SocketStats{RxBad: s.rxBad.Load(), RxUnknownVNI: s.rxVNI.Load()}
}
