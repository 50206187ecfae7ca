package flow

import (
	"testing"
	"time"
)

// TestReclaim: when the flows fall to half their high-water mark, freed
// memory is returned at once and on the follow-up looks; the reclaimer
// ends when no flow is left.
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
	time.Sleep(20 * time.Millisecond)
	if reclaims.Load() != before {
		t.Fatal("reclaimed while every flow was live")
	}
	tb.Close()
	deadline := time.Now().Add(5 * time.Second)
	for reclaiming.Load() {
		if time.Now().After(deadline) {
			t.Fatal("reclaimer still running with no flows")
		}
		time.Sleep(time.Millisecond)
	}
	if n := reclaims.Load() - before; n != 3 {
		t.Fatalf("%d reclaims, want 1 and 2 follow-ups", n)
	}
}
