package flow

import "sync"

// Buffer sizes: a stream direction that cannot wait for input without a
// buffer holds a small one while idle; every read that can fill more
// takes a large one from a pool shared by all flows.
const (
	SmallBufSize = 2 << 10
	LargeBufSize = 256 << 10
)

var largeBufs = sync.Pool{New: func() any {
	b := make([]byte, LargeBufSize)
	return &b
}}

func getLarge() *[]byte  { return largeBufs.Get().(*[]byte) }
func putLarge(b *[]byte) { largeBufs.Put(b) }
