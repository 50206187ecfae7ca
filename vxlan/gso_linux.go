package vxlan

import (
	"encoding/binary"
	"unsafe"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	"golang.org/x/sys/unix"
)

// UDP segmentation offload limits: a GSO send carries at most
// gsoMaxSegs datagrams and gsoMaxBytes of UDP payload.
const (
	gsoMaxSegs  = 64
	gsoMaxBytes = 65000
	// gsoScratch is the writer's room for segmented super-frames: two
	// 64 KiB super-frames of VXLAN datagrams with their headers.
	gsoScratch = 2 * (port.MaxSuperFrame + gsoMaxSegs*(HeaderLen+ethHdrLen+60+60))
)

// gsoWriter is the part of a tunnel's writer that sends TCP super-frames
// from the switch as UDP GSO batches: segmented once into a scratch buffer
// as back-to-back VXLAN datagrams and handed to the kernel with one
// UDP_SEGMENT control message, so a 64 KiB super-frame costs one send.
type gsoWriter struct {
	scratch []byte
	used    int
	segs    [][]byte
	sizes   []int
	ctrl    [][]byte // per source port, one UDP_SEGMENT message per batch slot
	dgrams  [][]int  // per source port, datagrams in each batch slot
}

func newGSOWriter(ports int) gsoWriter {
	g := gsoWriter{scratch: make([]byte, gsoScratch), segs: make([][]byte, gsoMaxSegs*2), sizes: make([]int, gsoMaxSegs*2)}
	for range ports {
		g.ctrl = append(g.ctrl, make([]byte, sendBatch*unix.CmsgSpace(2)))
		g.dgrams = append(g.dgrams, make([]int, sendBatch))
	}
	return g
}

// setSegment makes slot i of source port p's batch a GSO send of datagrams
// of size bytes (0: a plain datagram) carrying n datagrams.
func (w *writer) setSegment(p, i, size, n int) {
	h := &w.tx[p].Msgs[i].Hdr
	w.g.dgrams[p][i] = n
	if size == 0 {
		h.Control = nil
		h.SetControllen(0)
		return
	}
	sp := unix.CmsgSpace(2)
	c := w.g.ctrl[p][i*sp : (i+1)*sp]
	cm := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
	cm.Level, cm.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	cm.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(c[unix.CmsgLen(0):], uint16(size))
	h.Control = &c[0]
	h.SetControllen(sp)
}

// addSuper segments the TCP super-frame f (its VNet header asks for TSO)
// into the scratch buffer as VXLAN datagrams and queues them for each of
// vteps as GSO sends. A frame the segmenter refuses is counted and dropped.
func (t *Tunnel) addSuper(f *port.Frame, vteps []uint32, dst uint16, h uint32) error {
	w := &t.wr
	d := f.Data()
	n, size := offload.SegmentSize(&f.VNet, d, t.cfg.MTU)
	stride := HeaderLen + size
	if n == 0 || n > len(w.g.segs) || n*stride > len(w.g.scratch) {
		t.st.txErrors.Add(1)
		return nil
	}
	if n*stride > len(w.g.scratch)-w.g.used {
		if err := t.flush(); err != nil {
			return err
		}
	}
	region := w.g.scratch[w.g.used : w.g.used+n*stride]
	for i := range n {
		w.g.segs[i] = region[i*stride+HeaderLen : (i+1)*stride]
	}
	if _, err := offload.Segment(&f.VNet, d, t.cfg.MTU, w.g.segs[:n], w.g.sizes[:n]); err != nil {
		t.st.txErrors.Add(1)
		return nil
	}
	for i := range n {
		PutHeader(region[i*stride:], t.cfg.VNI)
	}
	w.g.used += n * stride
	pkt := region[:(n-1)*stride+HeaderLen+w.g.sizes[n-1]]
	per := min(gsoMaxSegs, gsoMaxBytes/stride)
	if !t.s.gso {
		per = 1
	}
	for _, vtep := range vteps {
		for off := 0; off < n; off += per {
			k := min(per, n-off)
			if err := t.addSeg(pkt[off*stride:min(len(pkt), (off+k)*stride)], vtep, dst, stride, k, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// addSeg queues one send of k datagrams of stride bytes (the last may be
// shorter) from the source port of flow hash h, sending the queued batches
// first when that port's is full.
func (t *Tunnel) addSeg(pkt []byte, vtep uint32, dst uint16, stride, k int, h uint32) error {
	w := &t.wr
	p := int(h % uint32(len(w.tx)))
	if w.tx[p].Full() {
		if err := t.flushMsgs(); err != nil {
			return err
		}
	}
	i := w.tx[p].Add(pkt)
	w.tx[p].SetInet4(i, vtep, dst)
	if k > 1 {
		w.setSegment(p, i, stride, k)
	} else {
		w.setSegment(p, i, 0, 1)
	}
	return nil
}
