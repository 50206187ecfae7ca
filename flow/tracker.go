package flow

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Tracker remembers open connections, listeners and packet sockets so that
// their owner can close them all when it stops. After Close it refuses new
// ones. The zero Tracker is ready to use; its methods are safe for
// concurrent use.
type Tracker struct {
	mu     sync.Mutex
	m      map[io.Closer]struct{}
	closed bool
	wg     sync.WaitGroup // Holds not yet Released
}

// Add registers every c, or none and reports false once the tracker is
// closed (the caller then closes them itself).
func (t *Tracker) Add(cs ...io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.m == nil {
		t.m = make(map[io.Closer]struct{})
	}
	for _, c := range cs {
		t.m[c] = struct{}{}
	}
	return true
}

// Hold is Add for a goroutine that serves cs: it also counts the
// goroutine, which calls Release when done; Wait waits for them all.
func (t *Tracker) Hold(cs ...io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	if t.m == nil {
		t.m = make(map[io.Closer]struct{})
	}
	for _, c := range cs {
		t.m[c] = struct{}{}
	}
	return true
}

// Release undoes Hold.
func (t *Tracker) Release(cs ...io.Closer) {
	t.Remove(cs...)
	t.wg.Done()
}

// Wait waits until every Hold has been Released.
func (t *Tracker) Wait() { t.wg.Wait() }

// Remove forgets every c (it does not close them).
func (t *Tracker) Remove(cs ...io.Closer) {
	t.mu.Lock()
	for _, c := range cs {
		delete(t.m, c)
	}
	if len(t.m) == 0 {
		t.m = nil // a Go map keeps its peak size: let it go
	}
	t.mu.Unlock()
}

// Len is the number of connections tracked now.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Closed reports whether Close has been called.
func (t *Tracker) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Close aborts every tracked connection (see Abort), refuses later Adds
// and returns the errors of the closes joined. A second Close does nothing.
func (t *Tracker) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	cs := t.m
	t.m = nil
	t.mu.Unlock()
	var errs []error
	for c := range cs {
		if err := Abort(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Abort closes c after waking any goroutine blocked on it, in case its
// Close does not: deadlines for connections, Shutdown for netstack
// listeners. Closing an already closed c is not an error.
func Abort(c io.Closer) error {
	switch c := c.(type) {
	case interface{ SetDeadline(time.Time) error }:
		_ = c.SetDeadline(time.Now())
	case interface{ SetReadDeadline(time.Time) error }:
		_ = c.SetReadDeadline(time.Now())
	}
	if sh, ok := c.(interface{ Shutdown() }); ok {
		sh.Shutdown()
	}
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
