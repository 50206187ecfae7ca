package port

import "sync"

// Buffer size classes: a standard frame, a jumbo frame, a super-frame. The
// last has one spare byte so a reader can tell a maximum-size frame from a
// truncated one (a read that fills the whole buffer).
var classSizes = [...]int{SmallBuf, 16384, Headroom + MaxSuperFrame + 1}

// SmallBuf is the buffer size of the smallest class: frames up to
// SmallBuf-Headroom bytes are best kept in it.
const SmallBuf = 2048

var pools [len(classSizes)]sync.Pool

func init() {
	for i := range pools {
		size := classSizes[i]
		class := int8(i)
		pools[i].New = func() any {
			return &Frame{buf: make([]byte, size), class: class}
		}
	}
}

// Get returns a reset frame from the pool that holds at least size bytes of
// frame data after Headroom.
func Get(size int) *Frame {
	for i, c := range classSizes {
		if size+Headroom <= c {
			f := pools[i].Get().(*Frame)
			f.Reset()
			return f
		}
	}
	f := pools[len(pools)-1].Get().(*Frame)
	f.Reset()
	return f
}

// Put returns f to its pool. f must not be used afterwards.
func Put(f *Frame) {
	if f == nil || f.class < 0 {
		return
	}
	pools[f.class].Put(f)
}

// Clone returns a pooled copy of f, metadata included.
func Clone(f *Frame) *Frame {
	c := Get(f.Len)
	c.Len = copy(c.buf[Headroom:], f.Data())
	c.VNet = f.VNet
	c.VLAN = f.VLAN
	c.Ingress = f.Ingress
	return c
}

// Swap exchanges the buffers and contents of a and b, metadata included,
// without copying frame bytes: a port that reads into its own frames can
// hand one to the switch's frame in O(1).
func Swap(a, b *Frame) {
	*a, *b = *b, *a
}
