package bench

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleCaptureReport has the three capture variants at MTU 1500.
func sampleCaptureReport() *Report {
	row := func(name string, gbps, p50, cps float64, c *CaptureRun) Row {
		return Row{Topology: name, MTU: 1500, Capture: c, Metrics: Metrics{
			Bulk: &BulkResult{Gbps: gbps},
			RR:   &RRResult{P50US: p50, P99US: 2 * p50},
			CRR:  &CRRResult{ConnsPerSec: cps},
		}}
	}
	rep := &Report{
		Benchmark: "capture", Title: "Capture benchmark", Reference: CaptureReference,
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Host:    HostInfo{Kernel: "6.1", CPUs: 2, GoVersion: "go1.x", LoadAvg: "0.10 0.20 0.30"}, DurationS: 5, MessageSize: 64,
		MTUs: []int{1500}, TargetMTUs: []int{1500}, Notes: captureNotes(CaptureNoMatchFilter),
		Rows: []Row{
			row(CaptureNone, 10, 100, 5000, nil),
			row(CaptureFile, 4, 150, 3000, &CaptureRun{Captured: 750, Dropped: 250, FileBytes: 123_400_000, CPUSeconds: 3.5}),
			row(CaptureFilter, 9.5, 105, 4900, &CaptureRun{Filter: CaptureNoMatchFilter, CPUSeconds: 0.01}),
		},
	}
	rep.ComputeRatios()
	rep.Targets = rep.EvaluateCaptureTargets()
	return rep
}

func TestParseCaptureSummary(t *testing.T) {
	out := "time=... level=INFO msg=x\n123 packets captured\n45 packets dropped by switchyard\n"
	c, d, ok := parseCaptureSummary(out)
	if !ok || c != 123 || d != 45 {
		t.Errorf("got %d, %d, %v", c, d, ok)
	}
	// Windows line ends and a repeated summary: the last counts.
	c, d, ok = parseCaptureSummary("1 packets captured\r\n2 packets dropped by switchyard\r\n7 packets captured\n0 packets dropped by switchyard")
	if !ok || c != 7 || d != 0 {
		t.Errorf("last summary: %d, %d, %v", c, d, ok)
	}
	for _, bad := range []string{
		"", "123 packets captured\n", "45 packets dropped by switchyard\n",
		"x 123 packets captured\n45 packets dropped by switchyard\n",
		"-1 packets captured\n0 packets dropped by switchyard\n",
		"99999999999999999999999 packets captured\n0 packets dropped by switchyard\n",
	} {
		if _, _, ok := parseCaptureSummary(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestCaptureArgv(t *testing.T) {
	got := strings.Join(captureArgv("/sy", "bench", "/tmp/s.sock", "/tmp/c.pcapng", ""), " ")
	if want := "/sy capture bench --socket /tmp/s.sock -w /tmp/c.pcapng"; got != want {
		t.Errorf("argv\n got %s\nwant %s", got, want)
	}
	argv := captureArgv("/sy", "bench", "/s", "/f", "host 192.0.2.99")
	if n := len(argv); n != 9 || argv[7] != "-f" || argv[8] != "host 192.0.2.99" {
		t.Errorf("argv with filter %q", argv)
	}
}

func TestCaptureConfigDefaults(t *testing.T) {
	cfg, err := CaptureConfig{Binary: "/bin/true"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OutDir != "bench-out" || cfg.Duration != 5*time.Second || cfg.MTU != 1500 ||
		cfg.Filter != CaptureNoMatchFilter || cfg.Iperf != "iperf3" {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, bad := range []CaptureConfig{{}, {Binary: "x", MTU: 500}, {Binary: "x", MTU: 70000}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if captureSubnet.Overlaps(NATRemotePrefix) {
		t.Error("capture subnet overlaps the NAT remote prefix")
	}
}

func TestCaptureDroppedPct(t *testing.T) {
	if _, ok := (&CaptureRun{}).DroppedPct(); ok {
		t.Error("no frames must give no percentage")
	}
	if p, ok := (&CaptureRun{Captured: 3, Dropped: 1}).DroppedPct(); !ok || p != 25 {
		t.Errorf("pct %v %v", p, ok)
	}
}

func TestCaptureTargets(t *testing.T) {
	rep := sampleCaptureReport()
	if len(rep.Targets) != 2 {
		t.Fatalf("targets %+v", rep.Targets)
	}
	file, filter := rep.Targets[0], rep.Targets[1]
	if file.Status != TargetNotMet || file.Goal != "capture to file bulk ≥ 0.5× no capture (MTU 1500)" ||
		file.Detail != "capture to file 4.00 Gb/s vs no capture 10.0 Gb/s = 0.40×" {
		t.Errorf("file target %+v", file)
	}
	if filter.Status != TargetMet || filter.Goal != "filter matching nothing bulk ≥ 0.9× no capture (MTU 1500)" {
		t.Errorf("filter target %+v", filter)
	}
	if r := rep.Find(CaptureFilter, 1500).Ratios; *r.Bulk != 0.95 || *r.ConnRate != 0.98 {
		t.Errorf("ratios %+v", r)
	}

	rep.Find(CaptureNone, 1500).Bulk = nil
	rep.Find(CaptureFile, 1500).Bulk.Gbps = 6
	for _, tg := range rep.EvaluateCaptureTargets() {
		if tg.Status != TargetUnknown || tg.Detail != "no no capture figure" {
			t.Errorf("without a reference: %+v", tg)
		}
	}
	if tg := (&Report{TargetMTUs: []int{9000}}).EvaluateCaptureTargets(); tg != nil {
		t.Errorf("targets without rows: %+v", tg)
	}
	only := &Report{TargetMTUs: []int{9000}, Rows: []Row{{Topology: CaptureFile, MTU: 9000, Metrics: Metrics{Bulk: &BulkResult{Gbps: 1}}}}}
	if tg := only.EvaluateCaptureTargets(); len(tg) != 1 || tg[0].Status != TargetUnknown || !strings.Contains(tg[0].Goal, "MTU 9000") {
		t.Errorf("targets with only the file variant: %+v", tg)
	}
}

func TestCaptureMarkdown(t *testing.T) {
	rep := sampleCaptureReport()
	md := rep.Markdown()
	for _, want := range []string{
		"| no capture | 1500 | 10.0 | 100 | 200 | 5000 | 1.00× | 1.00× | 1.00× | ok |\n",
		"| capture to file | 1500 | 4.00 | 150 | 300 | 3000 | 0.40× | 1.50× | 0.60× | ok |\n",
		"\n| capture | filter | packets captured | dropped by switchyard | dropped % | file MB | capture CPU s |\n",
		"| capture to file | — | 750 | 250 | 25.0 | 123 | 3.50 |\n",
		"| filter matching nothing | `host 192.0.2.99` | 0 | 0 | — | 0.00 | 0.01 |\n",
		"\nTargets (MTU 1500):\n\n- **not met** — capture to file bulk ≥ 0.5× no capture (MTU 1500)",
		"- **met** — filter matching nothing bulk ≥ 0.9× no capture (MTU 1500): filter matching nothing 9.50 Gb/s vs no capture 10.0 Gb/s = 0.95×",
		"\nCapture benchmark, 2025-01-02 03:04 UTC",
		"Ratios are against no capture at the same MTU",
		"`switchyard capture bench -w FILE`",
		"`-f 'host 192.0.2.99'`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasPrefix(md, rep.TableMarkdown()) || !strings.Contains(rep.TableMarkdown(), "| capture | filter |") {
		t.Errorf("TableMarkdown lacks the capture table:\n%s", rep.TableMarkdown())
	}
	if strings.Contains(sampleReport().Markdown(), "packets captured") {
		t.Error("switch report has a capture table")
	}
}

func TestCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	rep := sampleCaptureReport()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	text := checkSVG(t, mustRead(t, filepath.Join(dir, "capture.svg")))
	for _, want := range []string{"switchyard Capture benchmark", CaptureNone, CaptureFile, CaptureFilter, "MTU 1500"} {
		if !strings.Contains(text, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	var back Report
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "capture.json"))), &back); err != nil {
		t.Fatal(err)
	}
	if c := back.Rows[1].Capture; c == nil || c.Captured != 750 || c.Dropped != 250 || c.FileBytes != 123_400_000 {
		t.Fatalf("capture figures lost: %+v", back.Rows[1])
	}
	if back.Rows[0].Capture != nil || back.Markdown() != rep.Markdown() {
		t.Error("round trip changed the report")
	}
	js, _ := json.Marshal(sampleReport())
	if strings.Contains(string(js), `"capture"`) {
		t.Error("switch report JSON has a capture field")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// okTopology sets up without doing anything and counts Teardowns.
type okTopology struct {
	setupErr  error
	teardowns *int
}

func (okTopology) Name() string { return "fake" }
func (o okTopology) Setup(context.Context, int) (Pair, error) {
	return Pair{MTU: 1500}, o.setupErr
}
func (o okTopology) Teardown() { *o.teardowns++ }

// TestRunVariantsNoMeasurement runs variant suites whose set-up or
// variants fail (nothing is measured, so no root is needed).
func TestRunVariantsNoMeasurement(t *testing.T) {
	failStart := func(name string) variant {
		return variant{name: name, start: func(context.Context, Pair, int, *slog.Logger) (Pair, func(*Row), error) {
			return Pair{}, nil, errors.New("cannot\nstart " + name)
		}}
	}
	teardowns := 0
	dir := t.TempDir()
	var ports []int
	var hooks []string
	s := variantSuite{
		report: Report{Benchmark: "capture", Title: "Capture benchmark", Reference: CaptureReference, TargetMTUs: []int{1500}},
		outDir: dir, mtu: 1500, need: []string{"true"},
		topology: okTopology{teardowns: &teardowns},
		variants: []variant{failStart("a"), {name: "b", start: func(_ context.Context, _ Pair, port int, _ *slog.Logger) (Pair, func(*Row), error) {
			ports = append(ports, port)
			return Pair{}, nil, errors.New("no")
		}}},
		measure:  MeasureConfig{Duration: time.Second},
		before:   func(context.Context, Pair, *Report, *slog.Logger) { hooks = append(hooks, "before") },
		after:    func(context.Context, Pair, *Report, *slog.Logger) { hooks = append(hooks, "after") },
		evaluate: (*Report).EvaluateCaptureTargets,
	}
	rep, err := runVariants(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if teardowns != 1 || strings.Join(hooks, ",") != "before,after" || len(rep.Rows) != 2 || len(ports) != 1 || ports[0] != rrPort+1 {
		t.Fatalf("%d teardowns, hooks %v, rows %+v, ports %v", teardowns, hooks, rep.Rows, ports)
	}
	if e := rep.Rows[0].Errors; len(e) != 1 || e[0] != "setup: cannot start a" {
		t.Errorf("variant error %q", e)
	}
	if rep.Benchmark != "capture" || rep.DurationS != 1 || len(rep.MTUs) != 1 || rep.MTUs[0] != 1500 {
		t.Errorf("report %+v", rep)
	}
	for _, f := range []string{"capture.md", "capture.svg", "capture.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	s.topology = okTopology{setupErr: errors.New("no namespaces"), teardowns: &teardowns}
	hooks = nil
	rep, err = runVariants(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if teardowns != 2 || hooks != nil || len(rep.Rows) != 2 || rep.Rows[1].Topology != "b" ||
		rep.Rows[1].Errors[0] != "setup: no namespaces" {
		t.Fatalf("failed set-up: %d teardowns, hooks %v, rows %+v", teardowns, hooks, rep.Rows)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err = runVariants(ctx, s, nil)
	if err == nil || !strings.Contains(err.Error(), "bench capture interrupted") || rep == nil {
		t.Errorf("cancelled run: %v", err)
	}
}
