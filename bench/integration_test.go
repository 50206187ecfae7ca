package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// integrationBinary skips the test unless it may run real benchmarks
// (root, iperf3, SWITCHYARD_BENCH=1) and returns a freshly built
// switchyard binary.
func integrationBinary(t *testing.T) string {
	t.Helper()
	nstest.OptIn(t, "SWITCHYARD_BENCH", "the slow, root-only benchmark integration tests")
	if os.Geteuid() != 0 {
		nstest.Skip(t, "needs root")
	}
	for _, tool := range []string{"iperf3", "ip", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s: %v", tool, err)
		}
	}
	bin := filepath.Join(t.TempDir(), "switchyard")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/switchyard/switchyard/cmd/switchyard").CombinedOutput()
	if err != nil {
		t.Fatalf("build switchyard: %v\n%s", err, out)
	}
	return bin
}

// testLogger logs through t.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

// Write implements io.Writer.
func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkNoLeftovers fails if namespaces of this process remain.
func checkNoLeftovers(t *testing.T) {
	t.Helper()
	ents, _ := os.ReadDir(netnsDir)
	prefix := fmt.Sprintf("%s%d-", nsPrefix, os.Getpid())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}

func TestIntegrationSwitch(t *testing.T) {
	bin := integrationBinary(t)
	var topos []string
	if env := os.Getenv("SWITCHYARD_BENCH_TOPOLOGIES"); env != "" {
		topos = strings.Split(env, ",")
	} else if _, err := exec.LookPath("vde_switch"); err != nil {
		topos = []string{TopologySwitchyard, TopologyBridge}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	rep, err := RunSwitch(ctx, SwitchConfig{
		Binary: bin, OutDir: out, Duration: time.Second, MTUs: []int{1500}, Topologies: topos,
	}, testLogger(t))
	checkNoLeftovers(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	if want := max(len(topos), 2); len(rep.Rows) < want {
		t.Fatalf("%d rows, want at least %d", len(rep.Rows), want)
	}
	for _, r := range rep.Rows {
		if len(r.Errors) > 0 {
			t.Errorf("%s: %v", r.Topology, r.Errors)
			continue
		}
		if r.Bulk == nil || r.Bulk.Gbps <= 0 || r.RR == nil || r.RR.Iterations == 0 || r.CRR == nil || r.CRR.Conns == 0 {
			t.Errorf("%s: incomplete figures: %+v", r.Topology, r.Metrics)
		}
	}
	for _, f := range []string{"switch.md", "switch.svg", "switch.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestIntegrationFailingTopologyIsolated(t *testing.T) {
	bin := integrationBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A "vde_switch" that exits at once makes that topology fail in setup.
	rep, err := RunSwitch(ctx, SwitchConfig{
		Binary: bin, OutDir: t.TempDir(), Duration: time.Second, MTUs: []int{1500},
		Topologies: []string{TopologyVDE, TopologyBridge}, VDESwitch: "false",
	}, testLogger(t))
	checkNoLeftovers(t)
	if err != nil {
		t.Fatal(err)
	}
	vde, br := rep.Find(TopologyVDE, 1500), rep.Find(TopologyBridge, 1500)
	if vde == nil || len(vde.Errors) == 0 || !strings.Contains(vde.Errors[0], "setup") {
		t.Errorf("vde row should carry a setup error: %+v", vde)
	}
	if br == nil || len(br.Errors) > 0 || br.Bulk == nil {
		t.Errorf("bridge row should be unaffected: %+v", br)
	}
}
