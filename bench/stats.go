package bench

import (
	"math"
	"slices"
	"time"
)

// summarize turns latency samples taken over elapsed into an RRResult.
// It sorts lat in place.
func summarize(lat []time.Duration, elapsed time.Duration) RRResult {
	r := RRResult{Iterations: len(lat), Seconds: elapsed.Seconds()}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.MinUS = us(lat[0])
	r.MaxUS = us(lat[len(lat)-1])
	r.MeanUS = us(sum) / float64(len(lat))
	r.P50US = us(percentile(lat, 50))
	r.P90US = us(percentile(lat, 90))
	r.P99US = us(percentile(lat, 99))
	if r.Seconds > 0 {
		r.TransPerSec = float64(len(lat)) / r.Seconds
	}
	return r
}

// percentile returns the nearest-rank p-th percentile of sorted samples
// (0 < p <= 100).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// us converts a duration to microseconds.
func us(d time.Duration) float64 {
	return float64(d) / float64(time.Microsecond)
}
