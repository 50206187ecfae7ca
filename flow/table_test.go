package flow_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/flow"
	"github.com/switchyard/switchyard/flow/flowtest"
)

// closeCounter counts its closes.
type closeCounter struct{ n atomic.Int32 }

func (c *closeCounter) Close() error { c.n.Add(1); return nil }

func TestTableIdleExpiry(t *testing.T) {
	clk := flowtest.NewClock(time.Unix(1000, 0))
	tb := flow.NewTable[string, int](flow.TableConfig{Max: 4, Idle: 10 * time.Second, Clock: clk})
	defer tb.Close()
	a, b := &closeCounter{}, &closeCounter{}
	ea, _, _ := tb.Add("a", 1, a)
	tb.Add("b", 2, b)
	clk.Advance(9 * time.Second)
	tb.Touch(ea) // a is active; b is not
	if n := tb.Sweep(); n != 0 {
		t.Fatalf("swept %d flows before Idle", n)
	}
	clk.Advance(time.Second)
	if n := tb.Sweep(); n != 1 || b.n.Load() != 1 || a.n.Load() != 0 {
		t.Fatalf("swept %d (a closed %d, b closed %d); want b only", n, a.n.Load(), b.n.Load())
	}
	if _, ok := tb.Get("b"); ok {
		t.Fatal("expired flow still in the table")
	}
	clk.Advance(9 * time.Second)
	tb.Sweep()
	if st := tb.Stats(); st != (flow.TableStats{Flows: 0, Created: 2, Expired: 2}) {
		t.Fatalf("stats %+v", st)
	}
}

// TestTableSweeper: the sweeper runs on the clock while there are flows
// and stops when the table is empty.
func TestTableSweeper(t *testing.T) {
	clk := flowtest.NewClock(time.Unix(0, 0))
	tb := flow.NewTable[int, struct{}](flow.TableConfig{Idle: time.Second, Clock: clk})
	defer tb.Close()
	c := &closeCounter{}
	tb.Add(1, struct{}{}, c)
	for i := 0; c.n.Load() == 0; i++ {
		if i > 1000 {
			t.Fatal("flow never expired")
		}
		if waitTimer(clk, &c.n) {
			clk.Advance(100 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for clk.Timers() != 0 || tb.Stats().Flows != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sweeper still waiting (%d timers) on an empty table", clk.Timers())
		}
		time.Sleep(time.Millisecond)
	}
	if st := tb.Stats(); st.Expired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// waitTimer waits until the sweeper armed a timer (true) or closed c.
func waitTimer(clk *flowtest.Clock, closed *atomic.Int32) bool {
	for clk.Timers() == 0 {
		if closed.Load() != 0 {
			return false
		}
		time.Sleep(100 * time.Microsecond)
	}
	return true
}

func TestTableCapAndClose(t *testing.T) {
	tb := flow.NewTable[int, int](flow.TableConfig{Max: 2})
	cs := []*closeCounter{{}, {}, {}}
	for i, c := range cs[:2] {
		if _, ok, err := tb.Add(i, i, c); !ok || err != nil {
			t.Fatalf("Add %d: %v %v", i, ok, err)
		}
	}
	if e, ok, err := tb.Add(0, 9, cs[2]); ok || err != nil || e.Value != 0 {
		t.Fatalf("duplicate Add: %v %v %v", e, ok, err)
	}
	if tb.Admit() {
		t.Fatal("Admit on a full table")
	}
	if _, _, err := tb.Add(2, 2, cs[2]); !errors.Is(err, flow.ErrFull) {
		t.Fatalf("Add on a full table: %v", err)
	}
	e, _ := tb.Get(1)
	if !tb.Remove(e) || tb.Remove(e) {
		t.Fatal("Remove twice")
	}
	if !tb.Admit() {
		t.Fatal("no room after Remove")
	}
	tb.Close()
	if cs[0].n.Load() != 1 || cs[1].n.Load() != 0 {
		t.Fatalf("Close closed %d and %d", cs[0].n.Load(), cs[1].n.Load())
	}
	if _, _, err := tb.Add(3, 3, cs[2]); !errors.Is(err, flow.ErrTableClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if st := tb.Stats(); st.Refused != 2 || st.Created != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		min, max time.Duration
		want     []time.Duration
	}{
		{0, 0, []time.Duration{5e6, 10e6, 20e6, 40e6, 80e6, 160e6, 320e6, 640e6, 1e9, 1e9}},
		{time.Millisecond, 3 * time.Millisecond, []time.Duration{1e6, 2e6, 3e6, 3e6}},
	}
	for _, c := range cases {
		b := flow.Backoff{Min: c.min, Max: c.max}
		for i, w := range c.want {
			if d := b.Next(); d != w {
				t.Fatalf("%v-%v: pause %d is %v, want %v", c.min, c.max, i, d, w)
			}
		}
		b.Reset()
		if d := b.Next(); d != c.want[0] {
			t.Fatalf("after Reset: %v", d)
		}
	}
}

func TestTracker(t *testing.T) {
	var tr flow.Tracker
	a, b := &closeCounter{}, &closeCounter{}
	if !tr.Add(a, b) || tr.Len() != 2 {
		t.Fatal("Add")
	}
	tr.Remove(b)
	if !tr.Hold(b) {
		t.Fatal("Hold")
	}
	done := make(chan struct{})
	go func() { tr.Wait(); close(done) }()
	tr.Close()
	if a.n.Load() != 1 || b.n.Load() != 1 {
		t.Fatal("Close did not close everything")
	}
	select {
	case <-done:
		t.Fatal("Wait returned before Release")
	case <-time.After(10 * time.Millisecond):
	}
	tr.Release(b)
	<-done
	if tr.Add(&closeCounter{}) || tr.Hold(&closeCounter{}) || !tr.Closed() {
		t.Fatal("Add after Close")
	}
}
