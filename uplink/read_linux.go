package uplink

import (
	"time"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// ctrlSpace is the control buffer of one received message: room for the
// PACKET_AUXDATA message.
var ctrlSpace = unix.CmsgSpace(auxdataLen)

// reader is the receive loop's scratch, touched by its goroutine only.
type reader struct {
	rx *mmsg.Receiver
	fs []*port.Frame
}

func newReader(p *Parent) reader {
	r := reader{rx: mmsg.NewReceiver(p.rc, p.cfg.Batch, unix.SizeofSockaddrLinklayer, ctrlSpace),
		fs: make([]*port.Frame, p.cfg.Batch)}
	for i := range r.fs {
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

// readLoop receives batches until the parent closes, each frame placed
// at its buffer's headroom offset with the virtio-net header in the bytes
// in front of it. Errors other than a closed socket (the interface went
// down, say) are counted and retried.
func (p *Parent) readLoop() {
	defer close(p.done)
	r := &p.rd
	for {
		for i, f := range r.fs {
			r.rx.SetBuf(i, f.Buf()[port.Headroom-offload.HdrLen:])
		}
		n, err := r.rx.Receive()
		if n > 0 {
			p.deliver(n)
		}
		if p.closed.Load() {
			return
		}
		if err != nil {
			p.st.rxErrors.Add(1)
			p.cfg.Log.Warn("uplink read failed", "interface", p.cfg.Interface, "err", err)
			time.Sleep(10 * time.Millisecond)
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
		size := int(r.rx.Msgs[i].N)
		if r.rx.Truncated(i) || size < offload.HdrLen+port.EthHdrLen {
			p.st.rxBad.Add(1)
			continue
		}
		if r.rx.Linklayer(i).Pkttype == unix.PACKET_OUTGOING {
			// The host's own frames (kernels without IGNORE_OUTGOING).
			continue
		}
		a, err := parseAux(r.rx.Control(i))
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
