// Package flowtest has a fake flow.Clock for tests.
package flowtest

import (
	"sync"
	"time"

	"github.com/switchyard/switchyard/flow"
)

// Clock is a flow.Clock that moves only when Advance is called.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

var _ flow.Clock = (*Clock)(nil)

// NewClock returns a fake clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires once Advance has passed d.
func (c *Clock) NewTimer(d time.Duration) flow.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.fire(c.now)
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Timers is the number of timers waiting to fire.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Advance moves the clock by d and fires the timers due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.fire(c.now)
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

type timer struct {
	c     *Clock
	at    time.Time
	ch    chan time.Time
	fired bool
}

func (t *timer) fire(now time.Time) {
	t.fired = true
	t.ch <- now
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, o := range t.c.timers {
		if o == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}
