package flow

import (
	"testing"
	"time"
)

// TestReclaim: once a burst of new flows is steady, memory is returned
// twice (stacks shrink); when the flows fall to half their high-water
// mark, at once and on the follow-up looks; the reclaimer ends when no
// flow is left.
func TestReclaim(t *testing.T) {
	defer func(e time.Duration, m int64, f int) { reclaimEvery, reclaimMin, reclaimFollowUps = e, m, f }(reclaimEvery, reclaimMin, reclaimFollowUps)
	reclaimEvery, reclaimMin, reclaimFollowUps = time.Millisecond, 4, 2
	for reclaiming.Load() {
		time.Sleep(time.Millisecond) // another test's loop ending
	}
	peakFlows.Store(0)
	before := reclaims.Load()
	tb := NewTable[int, int](TableConfig{})
	for i := range 8 {
		tb.Add(i, i, nil)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reclaims.Load()-before < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reclaim after a steady burst")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if n := reclaims.Load() - before; n != 2 {
		t.Fatalf("%d reclaims for a steady burst, want 2", n)
	}
	tb.Close()
	deadline = time.Now().Add(5 * time.Second)
	for reclaiming.Load() {
		if time.Now().After(deadline) {
			t.Fatal("reclaimer still running with no flows")
		}
		time.Sleep(time.Millisecond)
	}
	if n := reclaims.Load() - before; n != 5 {
		t.Fatalf("%d reclaims, want 2, then 1 and 2 follow-ups", n)
	}
}
