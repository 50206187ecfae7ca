package bench

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleNATReport has both NAT topologies at 1500 and 65520, with the
// reverse bulk, and a slirp4netns row at 65520 whose bulk failed.
func sampleNATReport() *Report {
	row := func(topo string, mtu int, gbps, rev, p50, p99, cps float64) Row {
		return Row{Topology: topo, MTU: mtu, Metrics: Metrics{
			Bulk:    &BulkResult{Gbps: gbps},
			BulkRev: &BulkResult{Gbps: rev},
			RR:      &RRResult{P50US: p50, P99US: p99},
			CRR:     &CRRResult{ConnsPerSec: cps},
		}}
	}
	rep := &Report{
		Benchmark: "nat", Title: "NAT benchmark", Reference: NATReference,
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Host:    HostInfo{Kernel: "6.1", CPUs: 2, GoVersion: "go1.x", LoadAvg: "0.10 0.20 0.30"}, DurationS: 3, MessageSize: 64,
		MTUs: []int{1500, 65520}, BulkReverse: true, TargetMTUs: natTargetMTUs(), Notes: natNotes(true),
		Rows: []Row{
			row(TopologySwitchyardNAT, 1500, 2, 3, 50, 100, 4000),
			row(TopologySlirp, 1500, 0.4, 0.5, 100, 300, 2000),
			row(TopologySwitchyardNAT, 65520, 4, 6, 45, 90, 4100),
			{Topology: TopologySlirp, MTU: 65520, Metrics: Metrics{
				BulkRev: &BulkResult{Gbps: 3},
				RR:      &RRResult{P50US: 90, P99US: 280},
				CRR:     &CRRResult{ConnsPerSec: 2050},
				Errors:  []string{"bulk: iperf3: timeout"},
			}},
		},
	}
	rep.ComputeRatios()
	rep.Targets = rep.EvaluateNATTargets()
	return rep
}

func TestNATRatios(t *testing.T) {
	rep := sampleNATReport()
	sy := rep.Find(TopologySwitchyardNAT, 1500)
	if *sy.Ratios.Bulk != 5 || *sy.Ratios.BulkRev != 6 || *sy.Ratios.P50 != 0.5 || *sy.Ratios.ConnRate != 2 {
		t.Fatalf("ratios against slirp4netns: %+v", sy.Ratios)
	}
	if r := rep.Find(TopologySlirp, 1500).Ratios; *r.Bulk != 1 || *r.BulkRev != 1 {
		t.Fatalf("reference ratios %+v", r)
	}
	if r := rep.Find(TopologySwitchyardNAT, 65520).Ratios; r.Bulk != nil || *r.BulkRev != 2 {
		t.Fatalf("missing reference bulk must give a nil ratio: %+v", r)
	}
}

func TestNATTargets(t *testing.T) {
	rep := sampleNATReport()
	if len(rep.Targets) != 2 {
		t.Fatalf("targets %+v", rep.Targets)
	}
	met, unknown := rep.Targets[0], rep.Targets[1]
	if met.Status != TargetMet || met.Goal != "switchyard-nat bulk ≥ 5× slirp4netns (MTU 1500)" ||
		met.Detail != "switchyard-nat 2.00 Gb/s vs slirp4netns 0.40 Gb/s = 5.00×" {
		t.Errorf("MTU 1500 target %+v", met)
	}
	if unknown.Status != TargetUnknown || unknown.Goal != "switchyard-nat bulk ≥ 1× slirp4netns (MTU 65520)" ||
		unknown.Detail != "no slirp4netns figure" {
		t.Errorf("MTU 65520 target %+v", unknown)
	}

	rep.Find(TopologySwitchyardNAT, 1500).Bulk.Gbps = 1.9
	rep.Find(TopologySlirp, 65520).Bulk = &BulkResult{Gbps: 4}
	rep.Find(TopologySwitchyardNAT, 65520).Bulk = nil
	rep.Targets = rep.EvaluateNATTargets()
	if s := rep.Targets[0].Status; s != TargetNotMet {
		t.Errorf("4.75× at 1500: %s", s)
	}
	if tg := rep.Targets[1]; tg.Status != TargetUnknown || tg.Detail != "no switchyard-nat figure" {
		t.Errorf("no switchyard-nat bulk: %+v", tg)
	}

	only := &Report{Rows: []Row{{Topology: TopologySlirp, MTU: 65520, Metrics: Metrics{Bulk: &BulkResult{Gbps: 3}}},
		{Topology: TopologySwitchyardNAT, MTU: 65520, Metrics: Metrics{Bulk: &BulkResult{Gbps: 3}}}}}
	if tg := only.EvaluateNATTargets(); len(tg) != 1 || tg[0].Status != TargetMet || !strings.Contains(tg[0].Goal, "65520") {
		t.Errorf("targets with only MTU 65520: %+v", tg)
	}
	none := &Report{TargetMTUs: natTargetMTUs(), Rows: []Row{{Topology: TopologySlirp, MTU: 9000}}}
	if none.EvaluateNATTargets() != nil {
		t.Error("targets evaluated without their MTUs")
	}
	if got := none.TargetsMarkdown(); got != "Targets not evaluated: MTUs 1500 and 65520 were not measured.\n" {
		t.Errorf("TargetsMarkdown %q", got)
	}
}

func TestNATMarkdown(t *testing.T) {
	rep := sampleNATReport()
	md := rep.Markdown()
	for _, want := range []string{
		"| topology | MTU | bulk Gb/s | bulk rev Gb/s | rr p50 µs | rr p99 µs | conn/s | bulk × | bulk rev × | p50 × | conn/s × | status |\n" +
			"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
		"| switchyard-nat | 1500 | 2.00 | 3.00 | 50.0 | 100 | 4000 | 5.00× | 6.00× | 0.50× | 2.00× | ok |",
		"| slirp4netns | 65520 | — | 3.00 | 90.0 | 280 | 2050 | — | 1.00× | 1.00× | 1.00× | 1 error(s) [1] |",
		"- [1] slirp4netns, MTU 65520: bulk: iperf3: timeout",
		"Targets (MTU 1500 and 65520):\n\n",
		"- **met** — switchyard-nat bulk ≥ 5× slirp4netns (MTU 1500): switchyard-nat 2.00 Gb/s vs slirp4netns 0.40 Gb/s = 5.00×",
		"- **unknown** — switchyard-nat bulk ≥ 1× slirp4netns (MTU 65520): no slirp4netns figure",
		"\nNAT benchmark, 2025-01-02 03:04 UTC, kernel 6.1",
		"Ratios are against slirp4netns at the same MTU",
		"bulk rev is server → endpoint (iperf3 -R).",
		"0.37 Gb/s (MTU 1500)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasPrefix(md, rep.TableMarkdown()) || !strings.HasSuffix(md, ".\n") {
		t.Errorf("markdown layout:\n%s", md)
	}
	if strings.Contains(md, "kernel-bridge") {
		t.Errorf("NAT report mentions the switch reference:\n%s", md)
	}
}

func TestNATSVG(t *testing.T) {
	svg := sampleNATReport().SVG()
	text := checkSVG(t, svg)
	for _, want := range []string{"switchyard NAT benchmark", "switchyard-nat", "slirp4netns", "MTU 65520",
		"TCP bulk, Gb/s", "TCP bulk, server → client", "rr p99", "n/a", "4100"} {
		if !strings.Contains(text, want) {
			t.Errorf("svg text lacks %q", want)
		}
	}
	if n := strings.Count(svg, `<rect width="470"`); n != 5 {
		t.Errorf("%d panels, want 5", n)
	}
	if n := strings.Count(sampleReport().SVG(), `<rect width="470"`); n != 4 {
		t.Errorf("switch chart has %d panels, want 4", n)
	}
}

func TestNATWriteFiles(t *testing.T) {
	dir := t.TempDir()
	rep := sampleNATReport()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nat.md", "nat.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "switch.md")); err == nil {
		t.Error("NAT report wrote switch.md")
	}
	data, err := os.ReadFile(filepath.Join(dir, "nat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Reference != NATReference || !back.BulkReverse || back.Rows[0].BulkRev.Gbps != 3 ||
		*back.Rows[0].Ratios.BulkRev != 6 || !slices.Equal(back.TargetMTUs, []int{1500, 65520}) || len(back.Notes) == 0 {
		t.Fatalf("round trip lost data: %+v", back)
	}
	if back.Markdown() != rep.Markdown() {
		t.Error("markdown of the decoded report differs")
	}
}

// TestSwitchReportUnchanged checks that the switch report's JSON gained
// none of the NAT fields.
func TestSwitchReportUnchanged(t *testing.T) {
	js, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"bulk_rev", "reference", "title", "target_mtus", "notes", "bulk_reverse"} {
		if strings.Contains(string(js), `"`+field+`"`) {
			t.Errorf("switch report has %q: %s", field, js)
		}
	}
	if !strings.Contains(sampleReport().SVG(), "switchyard switch benchmark") {
		t.Error("switch chart title changed")
	}
}

func TestNATConfigDefaults(t *testing.T) {
	cfg, err := NATConfig{Binary: "/bin/true"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OutDir != "bench-out" || cfg.Duration != 5*time.Second || !slices.Equal(cfg.MTUs, []int{1500, 65520}) ||
		!slices.Equal(cfg.Topologies, []string{TopologySwitchyardNAT, TopologySlirp}) ||
		cfg.Iperf != "iperf3" || cfg.Slirp4netns != "slirp4netns" || cfg.NoReverse {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, bad := range []NATConfig{
		{}, {Binary: "x", MTUs: []int{500}}, {Binary: "x", MTUs: []int{65521}},
		{Binary: "x", Topologies: []string{TopologyBridge}},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	for name, subnet := range natSubnets {
		if subnet.Overlaps(NATRemotePrefix) {
			t.Errorf("%s subnet %s overlaps the remote %s", name, subnet, NATRemotePrefix)
		}
	}
}

func TestSlirpArgv(t *testing.T) {
	got := strings.Join(slirpArgv("slirp4netns", 65520, "10.0.2.0/24", "/var/run/netns/x"), " ")
	want := "slirp4netns --configure --mtu=65520 --cidr=10.0.2.0/24 --disable-host-loopback --netns-type=path /var/run/netns/x tap0"
	if got != want {
		t.Errorf("argv\n got %s\nwant %s", got, want)
	}
}

// failingTopology fails in Setup and counts Teardowns.
type failingTopology struct{ teardowns *int }

func (failingTopology) Name() string { return "broken" }
func (failingTopology) Setup(context.Context, int) (Pair, error) {
	return Pair{}, errors.New("no\nway")
}
func (f failingTopology) Teardown() { *f.teardowns++ }

// TestRunSuiteFailingSetup runs a whole suite (no root needed: nothing
// is measured) and checks the rows, the report's settings and the files.
func TestRunSuiteFailingSetup(t *testing.T) {
	dir := t.TempDir()
	teardowns := 0
	var built []string
	rep, err := runSuite(context.Background(), suite{
		report: Report{Benchmark: "nat", Title: "NAT benchmark", Reference: NATReference, BulkReverse: true,
			TargetMTUs: natTargetMTUs(), Notes: []string{"A note."}},
		outDir: dir, mtus: []int{1500, 65520}, topologies: []string{TopologySwitchyardNAT, TopologySlirp},
		need: []string{"true"},
		newTopology: func(name string, _ *slog.Logger) (Topology, error) {
			built = append(built, name)
			if name == TopologySlirp {
				return nil, errors.New("not here")
			}
			return failingTopology{&teardowns}, nil
		},
		measure:  MeasureConfig{Duration: 2 * time.Second},
		evaluate: (*Report).EvaluateNATTargets,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 4 || teardowns != 2 || len(rep.Rows) != 4 {
		t.Fatalf("built %v, %d teardowns, %d rows", built, teardowns, len(rep.Rows))
	}
	if e := rep.Rows[0].Errors; len(e) != 1 || e[0] != "setup: no way" {
		t.Errorf("setup error %q", e)
	}
	if e := rep.Rows[1].Errors; len(e) != 1 || e[0] != "setup: not here" {
		t.Errorf("constructor error %q", e)
	}
	if rep.Benchmark != "nat" || rep.Reference != NATReference || !rep.BulkReverse || rep.DurationS != 2 ||
		len(rep.Targets) != 2 || rep.Targets[0].Status != TargetUnknown {
		t.Errorf("report %+v", rep)
	}
	for _, f := range []string{"nat.md", "nat.svg", "nat.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	_, err = runSuite(context.Background(), suite{report: Report{Benchmark: "x"}, need: []string{"no-such-program-sybench"}}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "bench x: ") {
		t.Errorf("missing program: %v", err)
	}
}

func TestJoinMTUs(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{1500}, "1500"}, {[]int{1500, 9000}, "1500 and 9000"}, {[]int{1500, 9000, 65520}, "1500, 9000 and 65520"}} {
		if got := joinMTUs(c.in); got != c.want {
			t.Errorf("joinMTUs(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
