package flow

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Memory reclaim: after many flows end, the Go runtime keeps their
// memory until a garbage collection (at most every two minutes in an idle
// process) and its scavenger returns it slowly; after many flows start,
// the goroutine stacks that grew while they were set up (dials through the
// netstack) stay grown until collections shrink them, by half per
// collection. While flows exist, a reclaimer looks every reclaimEvery:
// once the live flows fell to half of their high-water mark (of at least
// reclaimMin), it returns the freed memory to the kernel
// (debug.FreeOSMemory, a collection first) and again on each of the next
// reclaimFollowUps looks, for memory released late (sockets in
// TIME-WAIT); once reclaimMin or more flows started since the last
// reclaim and their number is steady, it does the same twice (stacks shrink
// twice). It ends when no flow is left and nothing is pending.
var (
	reclaimEvery               = 10 * time.Second
	reclaimMin           int64 = 256
	reclaimFollowUps           = 8
	liveFlows, peakFlows atomic.Int64
	reclaiming           atomic.Bool
	reclaims             atomic.Uint64 // FreeOSMemory calls (tests)
)

// flowStarted counts a flow in and starts the reclaimer if needed.
func flowStarted() {
	n := liveFlows.Add(1)
	for p := peakFlows.Load(); n > p && !peakFlows.CompareAndSwap(p, n); p = peakFlows.Load() {
	}
	if !reclaiming.Load() && reclaiming.CompareAndSwap(false, true) {
		go reclaimLoop()
	}
}

// flowEnded counts a flow out.
func flowEnded() { liveFlows.Add(-1) }

// reclaimLoop runs while there are flows or reclaims pending.
func reclaimLoop() {
	pending := 0
	var prev, base int64 // live flows at the last look and the last reclaim
	t := time.NewTicker(reclaimEvery)
	defer t.Stop()
	for range t.C {
		n, p := liveFlows.Load(), peakFlows.Load()
		switch {
		case p >= reclaimMin && n <= p/2: // many flows ended
			peakFlows.Store(n)
			base, pending = n, reclaimFollowUps
			freeOSMemory()
		case n >= base+reclaimMin && n-prev <= n/10: // a burst settled
			base, pending = n, max(pending, 1)
			freeOSMemory()
		case pending > 0:
			pending--
			freeOSMemory()
		}
		prev = n
		if n == 0 && pending == 0 {
			reclaiming.Store(false)
			if liveFlows.Load() == 0 || !reclaiming.CompareAndSwap(false, true) {
				return
			}
		}
	}
}

func freeOSMemory() {
	reclaims.Add(1)
	debug.FreeOSMemory()
}
