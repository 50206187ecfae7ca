package bench

import "testing"

// TestEvaluateUplinkTargets checks the targets against macvlan: met, not
// met and unknown when a row is missing.
func TestEvaluateUplinkTargets(t *testing.T) {
	row := func(name string, gbps, p50 float64) Row {
		return Row{Topology: name, MTU: 1500, Metrics: Metrics{Bulk: &BulkResult{Gbps: gbps}, RR: &RRResult{P50US: p50}}}
	}
	for _, tc := range []struct {
		name string
		rows []Row
		want [2]string
	}{
		{"met", []Row{row(UplinkMacvlan, 10, 20), row(UplinkSwitchyard, 6, 35)}, [2]string{TargetMet, TargetMet}},
		{"not met", []Row{row(UplinkMacvlan, 10, 20), row(UplinkSwitchyard, 4, 45)}, [2]string{TargetNotMet, TargetNotMet}},
		{"no switchyard row", []Row{row(UplinkMacvlan, 10, 20)}, [2]string{TargetUnknown, TargetUnknown}},
	} {
		rep := &Report{Reference: UplinkMacvlan, TargetMTUs: []int{1500}, Rows: tc.rows}
		ts := rep.EvaluateUplinkTargets()
		if len(ts) != 2 || ts[0].Status != tc.want[0] || ts[1].Status != tc.want[1] {
			t.Errorf("%s: %+v, want %v", tc.name, ts, tc.want)
		}
	}
}
