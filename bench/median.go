package bench

import (
	"fmt"
	"sort"
)

// medianRow merges the rows of repeated measurements of one topology at
// one MTU: bulk, rr and crr each come from the run with the median figure
// (bulk Gb/s, rr p50, conns per second; the lower middle for an even
// count), errors from every run (prefixed with the run's number when
// there are several).
func medianRow(rows []Row) Row {
	if len(rows) == 0 {
		return Row{}
	}
	out := Row{Topology: rows[0].Topology, MTU: rows[0].MTU}
	out.Bulk = pickMedian(rows, func(r *Row) (*BulkResult, float64) {
		if r.Bulk == nil {
			return nil, 0
		}
		return r.Bulk, r.Bulk.Gbps
	})
	out.BulkRev = pickMedian(rows, func(r *Row) (*BulkResult, float64) {
		if r.BulkRev == nil {
			return nil, 0
		}
		return r.BulkRev, r.BulkRev.Gbps
	})
	out.RR = pickMedian(rows, func(r *Row) (*RRResult, float64) {
		if r.RR == nil {
			return nil, 0
		}
		return r.RR, r.RR.P50US
	})
	out.UDPRR = pickMedian(rows, func(r *Row) (*RRResult, float64) {
		if r.UDPRR == nil {
			return nil, 0
		}
		return r.UDPRR, r.UDPRR.P50US
	})
	out.CRR = pickMedian(rows, func(r *Row) (*CRRResult, float64) {
		if r.CRR == nil {
			return nil, 0
		}
		return r.CRR, r.CRR.ConnsPerSec
	})
	for i, r := range rows {
		for _, e := range r.Errors {
			if len(rows) > 1 {
				e = fmt.Sprintf("run %d: %s", i+1, e)
			}
			out.Errors = append(out.Errors, e)
		}
	}
	return out
}

// pickMedian returns the result whose key is the median of the runs that
// have one, nil when none has.
func pickMedian[T any](rows []Row, get func(*Row) (*T, float64)) *T {
	type kv struct {
		v *T
		k float64
	}
	var have []kv
	for i := range rows {
		if v, k := get(&rows[i]); v != nil {
			have = append(have, kv{v, k})
		}
	}
	if len(have) == 0 {
		return nil
	}
	sort.SliceStable(have, func(i, j int) bool { return have[i].k < have[j].k })
	return have[(len(have)-1)/2].v
}
