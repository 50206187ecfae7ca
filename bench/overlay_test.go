package bench

import (
	"context"
	"strings"
	"testing"
)

func TestEvaluateOverlay(t *testing.T) {
	row := func(topo string, gbps, p50 float64) Row {
		return Row{Topology: topo, MTU: 1500, Metrics: Metrics{Bulk: &BulkResult{Gbps: gbps}, RR: &RRResult{P50US: p50}}}
	}
	cases := []struct {
		name       string
		rows       []Row
		bulk, p50  string
		bulkDetail string
	}{
		{"both met", []Row{row(TopologyOverlay, 6, 70), row(TopologyKernelVXLAN, 10, 40)}, TargetMet, TargetMet, "0.60×"},
		{"both missed", []Row{row(TopologyOverlay, 1, 300), row(TopologyKernelVXLAN, 10, 40)}, TargetNotMet, TargetNotMet, "0.10×"},
		{"no reference", []Row{row(TopologyOverlay, 1, 300)}, TargetUnknown, TargetUnknown, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Benchmark: "overlay", Reference: OverlayReference, TargetMTUs: []int{1500}, Rows: tc.rows}
			ts := rep.evaluateOverlay()
			if len(ts) != 2 || ts[0].Status != tc.bulk || ts[1].Status != tc.p50 || !strings.Contains(ts[0].Detail, tc.bulkDetail) {
				t.Fatalf("targets %+v, want bulk %s (%s) and p50 %s", ts, tc.bulk, tc.bulkDetail, tc.p50)
			}
		})
	}
}

func TestRunOverlayBadConfig(t *testing.T) {
	if _, err := RunOverlay(context.Background(), OverlayConfig{}, nil); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("no binary: %v", err)
	}
	if _, err := RunOverlay(context.Background(), OverlayConfig{Binary: "x", MTUs: []int{100}}, nil); err == nil || !strings.Contains(err.Error(), "MTU") {
		t.Fatalf("MTU 100: %v", err)
	}
}

func TestMedianRow(t *testing.T) {
	row := func(gbps, p50, cps float64, errs ...string) Row {
		return Row{Topology: "t", MTU: 1500, Metrics: Metrics{Bulk: &BulkResult{Gbps: gbps}, RR: &RRResult{P50US: p50, P99US: p50 * 2},
			CRR: &CRRResult{ConnsPerSec: cps}, Errors: errs}}
	}
	m := medianRow([]Row{row(3, 200, 900), row(5, 100, 1100, "bulk: x"), row(4, 300, 1000)})
	if m.Bulk.Gbps != 4 || m.RR.P50US != 200 || m.RR.P99US != 400 || m.CRR.ConnsPerSec != 1000 || m.Topology != "t" || m.MTU != 1500 {
		t.Fatalf("median row %+v %+v %+v", m.Bulk, m.RR, m.CRR)
	}
	if len(m.Errors) != 1 || m.Errors[0] != "run 2: bulk: x" {
		t.Fatalf("errors %q", m.Errors)
	}
	if m := medianRow([]Row{{Topology: "t"}, row(2, 50, 10)}); m.Bulk.Gbps != 2 {
		t.Fatalf("a run without bulk: median %+v", m.Bulk)
	}
}
