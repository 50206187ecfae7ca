package uplink

import (
	"errors"
	"time"
	"unsafe"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// ctrlSpace is the control buffer of one received message: room for the
// PACKET_AUXDATA message.
var ctrlSpace = unix.CmsgSpace(auxdataLen)

// reader is the receive loop's scratch, touched by its goroutine only.
type reader struct {
	msgs  []mmsghdr
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrLinklayer
	ctrl  []byte
	fs    []*port.Frame
	n     int
	err   error
	fn    func(fd uintptr) bool
}

func newReader(batch int) reader {
	r := reader{msgs: make([]mmsghdr, batch), iovs: make([]unix.Iovec, batch),
		addrs: make([]unix.RawSockaddrLinklayer, batch), ctrl: make([]byte, batch*ctrlSpace),
		fs: make([]*port.Frame, batch)}
	for i := range r.msgs {
		h := &r.msgs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.addrs[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.ctrl[i*ctrlSpace]
		r.fs[i] = port.Get(port.MaxSuperFrame)
	}
	return r
}

func (r *reader) free() {
	for i, f := range r.fs {
		port.Put(f)
		r.fs[i] = nil
	}
}

// readLoop receives batches until the parent closes. Errors other than a
// closed socket (the interface went down, say) are counted and retried.
func (p *Parent) readLoop() {
	defer close(p.done)
	r := &p.rd
	for {
		r.n, r.err = 0, nil
		err := p.rc.Read(r.fn)
		if r.n > 0 {
			p.deliver(r.n)
		}
		if p.closed.Load() {
			return
		}
		if err == nil {
			err = r.err
		}
		if err != nil {
			p.st.rxErrors.Add(1)
			p.cfg.Log.Warn("uplink read failed", "interface", p.cfg.Interface, "err", err)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// recv is the RawConn callback of the reader: one recvmmsg into the batch,
// each frame placed at its buffer's headroom offset with the virtio-net
// header in the bytes in front of it.
func (p *Parent) recv(fd uintptr) bool {
	r := &p.rd
	for i, f := range r.fs {
		buf := f.Buf()[port.Headroom-offload.HdrLen:]
		r.iovs[i].Base = &buf[0]
		r.iovs[i].SetLen(len(buf))
		h := &r.msgs[i].hdr
		h.Namelen = unix.SizeofSockaddrLinklayer
		h.SetControllen(ctrlSpace)
		h.Flags = 0
	}
	for {
		n, errno := recvmmsg(fd, r.msgs)
		switch {
		case n > 0:
			r.n = n
			return true
		case errno == unix.EINTR:
		case errno == unix.EAGAIN:
			return false
		default:
			r.err = errno
			if errors.Is(errno, unix.EBADF) {
				r.err = port.ErrClosed
			}
			return true
		}
	}
}

// deliver decodes the first n received frames and dispatches them.
func (p *Parent) deliver(n int) {
	r := &p.rd
	links := p.links.Load()
	p.st.rxFrames.Add(uint64(n))
	for i := range n {
		f := r.fs[i]
		m := &r.msgs[i]
		size := int(m.n)
		if m.hdr.Flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || size < offload.HdrLen+port.EthHdrLen {
			p.st.rxBad.Add(1)
			continue
		}
		if r.addrs[i].Pkttype == unix.PACKET_OUTGOING {
			// The host's own frames (kernels without IGNORE_OUTGOING).
			continue
		}
		a, err := parseAux(r.ctrl[i*ctrlSpace : i*ctrlSpace+min(int(m.hdr.Controllen), ctrlSpace)])
		if err != nil {
			p.st.rxBad.Add(1)
			continue
		}
		f.Reset()
		_ = f.VNet.Decode(f.Buf()[port.Headroom-offload.HdrLen:])
		f.Len = size - offload.HdrLen
		if p.dispatch(f, a, links) {
			r.fs[i] = port.Get(port.MaxSuperFrame)
		}
	}
}
