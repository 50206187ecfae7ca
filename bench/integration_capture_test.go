package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestIntegrationCapture(t *testing.T) {
	bin := integrationBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	tmp := t.TempDir()
	rep, err := RunCapture(ctx, CaptureConfig{Binary: bin, OutDir: out, Duration: time.Second, TempDir: tmp}, testLogger(t))
	checkNoLeftovers(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	if len(rep.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		if len(r.Errors) > 0 {
			t.Errorf("%s: %v", r.Topology, r.Errors)
			continue
		}
		if r.Bulk == nil || r.RR == nil || r.CRR == nil || r.CRR.Conns == 0 {
			t.Errorf("%s: incomplete figures: %+v", r.Topology, r.Metrics)
		}
		if (r.Capture == nil) != (r.Topology == CaptureNone) {
			t.Errorf("%s: capture %+v", r.Topology, r.Capture)
		}
	}
	if c := rep.Find(CaptureFile, 1500).Capture; c != nil && (c.Captured == 0 || c.FileBytes == 0) {
		t.Errorf("capture to file saw nothing: %+v", c)
	}
	if c := rep.Find(CaptureFilter, 1500).Capture; c != nil && c.Captured != 0 {
		t.Errorf("the non-matching filter matched: %+v", c)
	}
	if len(rep.Targets) != 2 {
		t.Errorf("targets %+v", rep.Targets)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("capture files left behind: %v", ents)
	}
	for _, f := range []string{"capture.md", "capture.svg", "capture.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
