package port

import (
	"sync"
)

// Fake is an in-memory Port for tests: frames injected with Inject are
// returned by ReadFrames, frames written are recorded and can be taken with
// Written or waited for with Recv.
type Fake struct {
	info   Info
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
	gate   chan struct{}

	mu      sync.Mutex
	written [][]byte
	keep    bool
}

var _ Port = (*Fake)(nil)

// NewFake returns a fake port. Written frames are kept for Written/Recv
// when keep is true; otherwise they are only counted by the switch.
func NewFake(info Info, keep bool) *Fake {
	if info.MaxFrame == 0 {
		info.MaxFrame = info.MTU + EthHdrLen + VLANTagLen
	}
	return &Fake{
		info:   info,
		in:     make(chan []byte, 1024),
		out:    make(chan []byte, 4096),
		closed: make(chan struct{}),
		keep:   keep,
	}
}

// Inject queues a copy of frame to be read by the switch.
func (f *Fake) Inject(frame []byte) {
	f.in <- append([]byte(nil), frame...)
}

// Hold makes every WriteFrames call block until Release, to emulate a port
// whose peer does not read.
func (f *Fake) Hold() {
	f.mu.Lock()
	f.gate = make(chan struct{})
	f.mu.Unlock()
}

// Release unblocks writers held by Hold.
func (f *Fake) Release() {
	f.mu.Lock()
	if f.gate != nil {
		close(f.gate)
		f.gate = nil
	}
	f.mu.Unlock()
}

// ReadFrames returns injected frames, at least one, blocking until then.
func (f *Fake) ReadFrames(fs []*Frame) (int, error) {
	var b []byte
	select {
	case b = <-f.in:
	case <-f.closed:
		return 0, ErrClosed
	}
	n := 0
	for {
		fs[n].SetData(b)
		n++
		if n == len(fs) {
			return n, nil
		}
		select {
		case b = <-f.in:
		default:
			return n, nil
		}
	}
}

// WriteFrames records copies of the frames when the fake keeps them.
func (f *Fake) WriteFrames(fs []*Frame) (int, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-f.closed:
			return 0, ErrClosed
		}
	}
	if !f.keep {
		return len(fs), nil
	}
	for _, fr := range fs {
		c := append([]byte(nil), fr.Data()...)
		f.mu.Lock()
		f.written = append(f.written, c)
		f.mu.Unlock()
		select {
		case f.out <- c:
		default:
		}
	}
	return len(fs), nil
}

// Recv returns the next written frame, or nil when none arrives before
// done is closed.
func (f *Fake) Recv(done <-chan struct{}) []byte {
	select {
	case b := <-f.out:
		return b
	case <-done:
		return nil
	}
}

// Written returns copies of all frames written so far.
func (f *Fake) Written() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.written...)
}

// Info returns the port's description.
func (f *Fake) Info() Info { return f.info }

// Close unblocks readers and writers.
func (f *Fake) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// Closed reports whether Close was called.
func (f *Fake) Closed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}
