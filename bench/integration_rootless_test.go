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

func TestIntegrationRootless(t *testing.T) {
	bin := integrationBinary(t)
	topos := []string{TopologySwitchyard}
	for _, tool := range []string{"slirp4netns", "pasta"} {
		if _, err := exec.LookPath(tool); err == nil {
			topos = append(topos, map[string]string{"slirp4netns": TopologySlirp, "pasta": TopologyPasta}[tool])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	rep, err := RunRootless(ctx, RootlessConfig{
		Binary: bin, OutDir: out, Duration: time.Second, MTUs: []int{65520}, Topologies: topos,
	}, testLogger(t))
	checkNoLeftovers(t)
	if _, lerr := net.InterfaceByName(rootlessLinkName()); lerr == nil {
		t.Errorf("link %s left behind", rootlessLinkName())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	if len(rep.Rows) != len(topos) || rep.PortForward == nil || len(rep.PortForward.Rows) != len(topos) {
		t.Fatalf("%d rows and port forward %+v, want %d each", len(rep.Rows), rep.PortForward, len(topos))
	}
	for _, rows := range [][]Row{rep.Rows, rep.PortForward.Rows} {
		for _, r := range rows {
			if len(r.Errors) > 0 {
				t.Errorf("%s: %v", r.Topology, r.Errors)
				continue
			}
			if r.Bulk == nil || r.RR == nil || r.CRR == nil || r.CRR.Conns == 0 {
				t.Errorf("%s: incomplete figures: %+v", r.Topology, r.Metrics)
			}
		}
	}
	for _, f := range []string{"rootless.md", "rootless.svg", "rootless.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
