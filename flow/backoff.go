package flow

import (
	"context"
	"time"
)

// Default bounds of a Backoff.
const (
	DefaultMinBackoff = 5 * time.Millisecond
	DefaultMaxBackoff = time.Second
)

// Backoff paces retries after failed accepts or reads: each Next doubles
// the pause from Min up to Max; Reset starts again after a success. Zero
// bounds take the defaults. A Backoff is used by one goroutine.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the next pause.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	if b.cur == 0 {
		b.cur = lo
	} else {
		b.cur *= 2
	}
	b.cur = min(b.cur, hi)
	return b.cur
}

// Reset makes the next pause Min again.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d on clk (nil: the system clock) or until ctx ends; it
// reports whether ctx is still live.
func Sleep(ctx context.Context, clk Clock, d time.Duration) bool {
	if clk == nil {
		clk = SystemClock{}
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}
