package bench

import (
	"context"
	"testing"
	"time"
)

// TestIntegrationUplink runs the uplink benchmark for a second per
// measurement: both rows complete, with traffic both ways, and nothing is
// left behind.
func TestIntegrationUplink(t *testing.T) {
	bin := integrationBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunUplink(ctx, UplinkConfig{Binary: bin, OutDir: t.TempDir(), Duration: time.Second}, testLogger(t))
	checkNoLeftovers(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	if len(rep.Rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		if len(r.Errors) > 0 {
			t.Errorf("%s: %v", r.Topology, r.Errors)
			continue
		}
		if r.Bulk == nil || r.BulkRev == nil || r.RR == nil || r.CRR == nil || r.CRR.Conns == 0 {
			t.Errorf("%s: incomplete figures: %+v", r.Topology, r.Metrics)
		}
	}
	if ts := rep.EvaluateUplinkTargets(); len(ts) != 2 {
		t.Errorf("targets %+v, want bulk and rr", ts)
	}
}
