package bench

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleReport has all three topologies at 1500 and a failed vde row at
// 9000.
func sampleReport() *Report {
	row := func(topo string, mtu int, gbps, p50, p99, cps float64) Row {
		return Row{Topology: topo, MTU: mtu, Metrics: Metrics{
			Bulk: &BulkResult{Gbps: gbps},
			RR:   &RRResult{P50US: p50, P99US: p99},
			CRR:  &CRRResult{ConnsPerSec: cps},
		}}
	}
	rep := &Report{
		Benchmark: "switch", Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Host: HostInfo{Kernel: "6.1", CPUs: 2, GoVersion: "go1.x", LoadAvg: "0.10 0.20 0.30"}, DurationS: 5, MessageSize: 64,
		MTUs: []int{1500, 9000},
		Rows: []Row{
			row("switchyard", 1500, 6, 40, 90, 9000),
			row("kernel-bridge", 1500, 10, 25, 50, 12000),
			row("vde_switch", 1500, 0.5, 60, 200, 5000),
			row("switchyard", 9000, 12, 41, 95, 9100),
			row("kernel-bridge", 9000, 20, 24, 48, 12500),
			{Topology: "vde_switch", MTU: 9000, Metrics: Metrics{
				RR:     &RRResult{P50US: 61, P99US: 210},
				Errors: []string{"bulk: skipped: 8896-byte segments (MTU 9000) do not pass | timeout"},
			}},
		},
	}
	rep.ComputeRatios()
	rep.Targets = rep.EvaluateTargets()
	return rep
}

func TestRatios(t *testing.T) {
	rep := sampleReport()
	sy := rep.Find("switchyard", 1500)
	if *sy.Ratios.Bulk != 0.6 || *sy.Ratios.P50 != 1.6 || *sy.Ratios.ConnRate != 0.75 {
		t.Fatalf("switchyard ratios: bulk %v p50 %v conn %v", *sy.Ratios.Bulk, *sy.Ratios.P50, *sy.Ratios.ConnRate)
	}
	if br := rep.Find("kernel-bridge", 9000); *br.Ratios.Bulk != 1 {
		t.Fatalf("reference ratio %v", *br.Ratios.Bulk)
	}
	vde := rep.Find("vde_switch", 9000)
	if vde.Ratios.Bulk != nil || vde.Ratios.ConnRate != nil || vde.Ratios.P50 == nil {
		t.Fatalf("missing figures must give nil ratios: %+v", vde.Ratios)
	}
}

func TestTargets(t *testing.T) {
	rep := sampleReport()
	want := []string{TargetMet, TargetMet, TargetMet}
	for i, tg := range rep.Targets {
		if tg.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", tg.Goal, tg.Status, tg.Detail, want[i])
		}
	}
	if d := rep.Targets[0].Detail; d != "switchyard 6.00 Gb/s vs kernel-bridge 10.0 Gb/s = 0.60×" {
		t.Errorf("detail %q", d)
	}
	rep.Find("switchyard", 1500).Bulk.Gbps = 4 // 0.4× bridge, 8× vde
	rep.Find("switchyard", 1500).RR = nil
	rep.Targets = rep.EvaluateTargets()
	want = []string{TargetNotMet, TargetNotMet, TargetUnknown}
	for i, tg := range rep.Targets {
		if tg.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", tg.Goal, tg.Status, tg.Detail, want[i])
		}
	}
	none := &Report{Rows: []Row{{Topology: "switchyard", MTU: 9000}}}
	if none.EvaluateTargets() != nil {
		t.Error("targets evaluated without MTU 1500 rows")
	}
}

func TestMarkdown(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"| topology | MTU | bulk Gb/s | rr p50 µs | rr p99 µs | conn/s | bulk × | p50 × | conn/s × | status |",
		"| switchyard | 1500 | 6.00 | 40.0 | 90.0 | 9000 | 0.60× | 1.60× | 0.75× | ok |",
		"| kernel-bridge | 9000 | 20.0 | 24.0 | 48.0 | 12500 | 1.00× | 1.00× | 1.00× | ok |",
		"| vde_switch | 9000 | — | 61.0 | 210 | — | — | 2.54× | — | 1 error(s) [1] |",
		`- [1] vde_switch, MTU 9000: bulk: skipped: 8896-byte segments (MTU 9000) do not pass \| timeout`,
		"- **met** — switchyard bulk ≥ 10× vde_switch (MTU 1500): switchyard 6.00 Gb/s vs vde_switch 0.50 Gb/s = 12.00×",
		"kernel 6.1, 2 CPUs (load average 0.10 0.20 0.30 at start)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestTableMarkdown(t *testing.T) {
	rep := sampleReport()
	tm, md := rep.TableMarkdown(), rep.Markdown()
	header := "| topology | MTU | bulk Gb/s |"
	if !strings.HasPrefix(tm, header) || !strings.HasPrefix(md, header) {
		t.Errorf("report does not start with the table:\n%s", md)
	}
	if !strings.HasPrefix(md, tm) {
		t.Errorf("Markdown does not start with TableMarkdown:\n%s\n---\n%s", md, tm)
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "#") {
			t.Errorf("heading line %q in markdown", line)
		}
	}
	for _, want := range []string{"Targets (MTU 1500):\n\n- **", "[1] vde_switch, MTU 9000"} {
		if !strings.Contains(tm, want) {
			t.Errorf("TableMarkdown lacks %q:\n%s", want, tm)
		}
	}
	if strings.Contains(tm, "load average") {
		t.Errorf("TableMarkdown has the run conditions:\n%s", tm)
	}
	none := (&Report{}).TableMarkdown()
	if !strings.HasSuffix(none, "\n\nTargets not evaluated: MTU 1500 was not measured.\n") {
		t.Errorf("TableMarkdown without targets:\n%s", none)
	}
}

// checkSVG parses s as XML and returns its text content.
func checkSVG(t *testing.T, s string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed: %v\n%s", err, s)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
			text.WriteByte('\n')
		}
	}
	return text.String()
}

func TestSVG(t *testing.T) {
	text := checkSVG(t, sampleReport().SVG())
	for _, want := range []string{"switchyard", "kernel-bridge", "vde_switch", "MTU 1500", "MTU 9000",
		"TCP bulk, Gb/s", "rr p50", "rr p99", "conn/s", "12500", "n/a", "6.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("svg text lacks %q", want)
		}
	}
	empty := (&Report{}).SVG()
	checkSVG(t, empty)
	odd := &Report{Rows: []Row{{Topology: `a<b>&"c"`, MTU: 1500}}}
	checkSVG(t, odd.SVG())
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ max, step, top float64 }{
		{0, 0.25, 1}, {1, 0.5, 1}, {9.3, 5, 10}, {12500, 5000, 15000}, {37, 10, 40}, {0.5, 0.2, 0.6},
	} {
		step, top := niceScale(c.max)
		if math.Abs(step-c.step) > 1e-9 || math.Abs(top-c.top) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.max, step, top, c.step, c.top)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	rep := sampleReport()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "switch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 6 || back.Rows[0].Bulk.Gbps != 6 || back.Rows[5].Ratios.Bulk != nil || len(back.Targets) != 3 {
		t.Fatalf("round trip lost data: %+v", back)
	}
	for _, f := range []string{"switch.md", "switch.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestParseIperfJSON(t *testing.T) {
	ok := `{"start":{},"end":{"sum_sent":{"seconds":5,"bits_per_second":9.5e9,"retransmits":3},
		"sum_received":{"seconds":5.01,"bits_per_second":9.4e9}}}`
	r, err := parseIperfJSON([]byte(ok))
	if err != nil || r.Gbps != 9.4 || r.SentGbps != 9.5 || r.Retransmits != 3 {
		t.Fatalf("got %+v, %v", r, err)
	}
	if _, err := parseIperfJSON([]byte(`{"error":"unable to connect to server"}`)); err == nil ||
		!strings.Contains(err.Error(), "unable to connect") {
		t.Fatalf("error report: %v", err)
	}
	if _, err := parseIperfJSON([]byte(`{"end":{"sum_received":{"bits_per_second":0}}}`)); err == nil {
		t.Fatal("zero throughput accepted")
	}
	if _, err := parseIperfJSON([]byte(`garbage`)); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestSwitchConfigDefaults(t *testing.T) {
	cfg, err := SwitchConfig{Binary: "/bin/true"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OutDir != "bench-out" || cfg.Duration != 5*time.Second || len(cfg.MTUs) != 2 || len(cfg.Topologies) != 3 {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, bad := range []SwitchConfig{{}, {Binary: "x", MTUs: []int{100}}, {Binary: "x", Topologies: []string{"ovs"}}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
