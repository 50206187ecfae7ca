package vxlan

import (
	"encoding/binary"
	"unsafe"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// groReader is the receive loop's coalescing state: the super-frame being
// built from the TCP segments of one flow (offload.Coalescer), which
// crosses datagrams and GRO batches of one receive until something else
// arrives.
type groReader struct {
	co   offload.Coalescer
	cur  *port.Frame
	curT *Tunnel
	src  uint32 // the VTEP cur came from
}

// groCtrlLen is the room for the UDP_GRO control message (an int).
var groCtrlLen = unix.CmsgSpace(4)

// enableGRO asks the kernel for coalesced datagrams (UDP_GRO): equal-sized
// VXLAN datagrams of a batch arrive as one, with their size in a control
// message. Kernels without it deliver datagram by datagram.
func enableGRO(fd uintptr) {
	_ = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1)
}

// segSize returns the size of the datagrams slot i holds when the kernel
// coalesced several (UDP_GRO), or 0.
func (r *reader) segSize(i int) int {
	c := r.rx.Control(i)
	if len(c) < unix.CmsgLen(4) {
		return 0
	}
	cm := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
	if cm.Level != unix.SOL_UDP || cm.Type != unix.UDP_GRO || int(cm.Len) < unix.CmsgLen(4) {
		return 0
	}
	return int(binary.NativeEndian.Uint32(c[unix.CmsgLen(0):]))
}

// deliver splits the received datagram(s) in buf, size bytes of GRO
// segments of seg bytes (0: one datagram), and hands their inner frames to
// their VNIs' tunnels through the coalescer.
func (s *Socket) deliver(buf []byte, seg int, tunnels map[uint32]*Tunnel, src uint32, now int64) {
	if seg <= 0 || seg > len(buf) {
		seg = len(buf)
	}
	for off := 0; off < len(buf); off += seg {
		d := buf[off:min(off+seg, len(buf))]
		vni, err := ParseHeader(d)
		if err != nil {
			s.rxBad.Add(1)
			continue
		}
		t := tunnels[vni]
		if t == nil {
			s.rxVNI.Add(1)
			continue
		}
		s.coalesce(t, d[HeaderLen:], src, now)
	}
}

// coalesce appends inner frame fr to the super-frame being built when it
// continues it, or finishes that one and starts the next with fr.
func (s *Socket) coalesce(t *Tunnel, fr []byte, src uint32, now int64) {
	g := &s.rd.g
	if g.cur != nil {
		if g.curT == t && g.src == src {
			if d, ok := g.co.Append(g.cur.Data(), fr); ok {
				g.cur.Len = len(d)
				return
			}
		}
		s.finish(now)
	}
	more := g.co.Start(fr)
	size := len(fr)
	if more {
		size = port.MaxSuperFrame
	}
	f := port.Get(size)
	f.Len = copy(f.Space(), fr)
	g.cur, g.curT, g.src = f, t, src
	if !more {
		s.finish(now)
	}
}

// finish hands the super-frame being built to its tunnel.
func (s *Socket) finish(now int64) {
	g := &s.rd.g
	if g.cur == nil {
		return
	}
	g.cur.VNet = g.co.Finish(g.cur.Data())
	if !g.curT.accept(g.cur, g.src, now) {
		port.Put(g.cur)
	}
	g.cur, g.curT = nil, nil
}
