package bench

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestIntegrationNAT(t *testing.T) {
	bin := integrationBinary(t)
	topos := []string{TopologySwitchyardNAT}
	if _, err := exec.LookPath("slirp4netns"); err == nil {
		topos = append(topos, TopologySlirp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	rep, err := RunNAT(ctx, NATConfig{
		Binary: bin, OutDir: out, Duration: time.Second, MTUs: []int{1500}, Topologies: topos,
	}, testLogger(t))
	checkNoLeftovers(t)
	if _, lerr := net.InterfaceByName(remoteLinkName()); lerr == nil {
		t.Errorf("link %s left behind", remoteLinkName())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	if len(rep.Rows) != len(topos) {
		t.Fatalf("%d rows, want %d", len(rep.Rows), len(topos))
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
	for _, f := range []string{"nat.md", "nat.svg", "nat.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
