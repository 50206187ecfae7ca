package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Topology names accepted in SwitchConfig.Topologies.
const (
	TopologySwitchyard = "switchyard"
	TopologyBridge     = ReferenceTopology
	TopologyVDE        = "vde_switch"
)

// SwitchConfig configures RunSwitch.
type SwitchConfig struct {
	// Binary is the switchyard binary: it runs the daemon and the
	// `bench peer` subcommands. Required.
	Binary string
	// OutDir receives switch.md, switch.svg and switch.json; "" means
	// "bench-out".
	OutDir string
	// Duration is the length of each bulk, rr and crr run; 0 means 5 s.
	Duration time.Duration
	// MTUs to measure at; empty means 1500 and 9000.
	MTUs []int
	// Topologies to measure, by name; empty means all three.
	Topologies []string
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// Iperf and VDESwitch name the iperf3 and vde_switch programs; ""
	// means the usual names on PATH.
	Iperf     string
	VDESwitch string
}

// switchSubnets are the endpoint subnets of the topologies, distinct so
// that captures are easy to tell apart.
var switchSubnets = map[string]netip.Prefix{
	TopologySwitchyard: netip.MustParsePrefix("10.201.1.0/24"),
	TopologyBridge:     netip.MustParsePrefix("10.201.2.0/24"),
	TopologyVDE:        netip.MustParsePrefix("10.201.3.0/24"),
}

// withDefaults validates cfg and fills in defaults.
func (cfg SwitchConfig) withDefaults() (SwitchConfig, error) {
	c := common{"bench switch", cfg.Binary, &cfg.OutDir, &cfg.Duration, &cfg.MTUs}
	if err := c.fill([]int{1500, 9000}, 65000); err != nil {
		return cfg, err
	}
	if err := c.topologies(&cfg.Topologies, TopologySwitchyard, TopologyBridge, TopologyVDE); err != nil {
		return cfg, err
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	if cfg.VDESwitch == "" {
		cfg.VDESwitch = "vde_switch"
	}
	return cfg, nil
}

// newTopology builds a topology of the switch benchmark by name.
func (cfg SwitchConfig) newTopology(name string, log *slog.Logger) (Topology, error) {
	opts := TopologyOptions{Subnet: switchSubnets[name], Log: log}
	switch name {
	case TopologySwitchyard:
		return NewSwitchyardTopology(cfg.Binary, opts)
	case TopologyBridge:
		return NewBridgeTopology(opts)
	case TopologyVDE:
		return NewVDETopology(cfg.VDESwitch, opts)
	}
	return nil, fmt.Errorf("unknown topology %q", name)
}

// RunSwitch measures every configured topology at every MTU, writes
// switch.md, switch.svg and switch.json to cfg.OutDir and returns the
// report. A topology that fails is reported in its rows; RunSwitch fails
// only outside Linux, for bad configuration, missing tools, cancellation
// (the partial report is still written and returned) or unwritable output.
func RunSwitch(ctx context.Context, cfg SwitchConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench switch: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	need := []string{"ip", "sysctl", cfg.Iperf}
	if slices.Contains(cfg.Topologies, TopologyVDE) {
		need = append(need, cfg.VDESwitch)
	}
	return runSuite(ctx, suite{
		report:      Report{Benchmark: "switch"},
		outDir:      cfg.OutDir,
		mtus:        cfg.MTUs,
		topologies:  cfg.Topologies,
		need:        append(need, cfg.Binary),
		newTopology: cfg.newTopology,
		measure:     MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration, RRIterations: cfg.RRIterations},
		evaluate:    (*Report).EvaluateTargets,
	}, log)
}

// suite describes one benchmark run: every topology at every MTU.
type suite struct {
	// report is the template of the report: Benchmark (which also names
	// the files and prefixes errors), Title, Reference, BulkReverse,
	// UDPRR, TargetMTUs and Notes are copied from it.
	report Report
	outDir string
	mtus   []int
	// topologies are built by name with newTopology, once per MTU.
	topologies  []string
	newTopology func(name string, log *slog.Logger) (Topology, error)
	// need are the programs that must be on PATH.
	need []string
	// measure configures every measurement; with distinctPorts, run i
	// (counting topologies within MTUs) uses rr/crr port 7001+i.
	measure       MeasureConfig
	distinctPorts bool
	// repeat measures every topology that many times (alternating them)
	// and reports each figure's median run; 0 or 1 measures once.
	repeat int
	// evaluate computes the targets of the finished report.
	evaluate func(*Report) []Target
}

// runSuite runs s: it checks the tools, measures every topology at every
// MTU, computes ratios and targets and writes the report files.
func runSuite(ctx context.Context, s suite, log *slog.Logger) (*Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := prepareRun(s.report.Benchmark, s.outDir, s.need, log); err != nil {
		return nil, err
	}

	rep := newRunReport(s.report, s.measure, s.mtus)
	if s.repeat > 1 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Each figure is the median of %d runs per topology, the topologies alternating.", s.repeat))
	}
	run := 0
	for _, mtu := range s.mtus {
		runs := map[string][]Row{}
		for range max(1, s.repeat) {
			for _, topo := range s.topologies {
				if ctx.Err() != nil {
					break
				}
				mcfg := s.measure
				if s.distinctPorts {
					mcfg.Port = rrPort + run
				}
				run++
				runs[topo] = append(runs[topo], runTopology(ctx, s.newTopology, topo, mtu, mcfg, log))
			}
		}
		for _, topo := range s.topologies {
			if len(runs[topo]) > 0 {
				rep.Rows = append(rep.Rows, medianRow(runs[topo]))
			}
		}
	}
	return finishReport(ctx, rep, s.evaluate, s.outDir)
}

// prepareRun checks that the programs in need are on PATH, creates outDir
// and removes namespaces of dead harness processes.
func prepareRun(name, outDir string, need []string, log *slog.Logger) error {
	for _, p := range need {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("bench %s: %w", name, err)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("bench %s: %w", name, err)
	}
	cleanStaleNetns(log)
	return nil
}

// newRunReport starts the report of a run from a template (see
// suite.report).
func newRunReport(tmpl Report, measure MeasureConfig, mtus []int) *Report {
	rep := &Report{
		Benchmark: tmpl.Benchmark, Title: tmpl.Title, Reference: tmpl.Reference,
		Started: time.Now(), Host: hostInfo(),
		DurationS: measure.Duration.Seconds(), MessageSize: DefaultMessageSize, MTUs: mtus,
		BulkReverse: tmpl.BulkReverse, UDPRR: tmpl.UDPRR, TargetMTUs: tmpl.TargetMTUs, Notes: tmpl.Notes,
	}
	if measure.Size != 0 {
		rep.MessageSize = measure.Size
	}
	return rep
}

// finishReport computes the ratios and targets of a finished (or
// interrupted) run and writes its files.
func finishReport(ctx context.Context, rep *Report, evaluate func(*Report) []Target, outDir string) (*Report, error) {
	rep.Finished = time.Now()
	rep.ComputeRatios()
	if evaluate != nil {
		rep.Targets = evaluate(rep)
	}
	werr := rep.WriteFiles(outDir)
	if err := ctx.Err(); err != nil {
		return rep, errors.Join(fmt.Errorf("bench %s interrupted: %w", rep.Benchmark, err), werr)
	}
	return rep, werr
}

// runTopology sets a topology up at one MTU, measures it and tears it
// down, returning its row.
func runTopology(ctx context.Context, newTopology func(string, *slog.Logger) (Topology, error), name string, mtu int, mcfg MeasureConfig, log *slog.Logger) Row {
	row := Row{Topology: name, MTU: mtu}
	log = log.With("topology", name, "mtu", mtu)
	topo, err := newTopology(name, log)
	if err != nil {
		row.Errors = append(row.Errors, "setup: "+err.Error())
		return row
	}
	defer func() {
		start := time.Now()
		topo.Teardown()
		log.Debug("torn down", "took", time.Since(start).Round(time.Millisecond))
	}()
	log.Info("setting up")
	pair, err := topo.Setup(ctx, mtu)
	if err != nil {
		log.Warn("setup failed", "err", err)
		row.Errors = append(row.Errors, "setup: "+oneLine(err.Error()))
		return row
	}
	measureRow(ctx, &row, pair, mcfg, log)
	return row
}

// measureRow measures pair into row, noting failed connections of the
// crr run as an error.
func measureRow(ctx context.Context, row *Row, pair Pair, mcfg MeasureConfig, log *slog.Logger) {
	log.Info("measuring", "client", pair.Client.Netns, "server", pair.Server.Netns)
	row.Metrics = Measure(ctx, pair, mcfg, log)
	if c := row.CRR; c != nil && c.Errors > 0 {
		row.Errors = append(row.Errors, fmt.Sprintf("crr: %d of %d connections failed, first: %s",
			c.Errors, c.Conns+c.Errors, oneLine(c.FirstError)))
	}
	log.Info("measured", "bulk_gbps", fig(row.BulkGbps()), "p50_us", fig(row.P50US()),
		"p99_us", fig(row.P99US()), "conns_per_sec", fig(row.ConnsPerSec()), "errors", len(row.Errors))
}

// fig formats an optional figure for logs.
func fig(v float64, ok bool) string { return cell(v, ok) }

// WriteFiles writes <benchmark>.md, .svg and .json (switch.md,
// switch.svg and switch.json for the switch benchmark) into dir.
func (rep *Report) WriteFiles(dir string) error {
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	base := rep.Benchmark
	if base == "" {
		base = "switch"
	}
	files := map[string][]byte{
		base + ".md":   []byte(rep.Markdown()),
		base + ".svg":  []byte(rep.SVG()),
		base + ".json": append(js, '\n'),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

// hostInfo describes the running machine.
func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			h.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return h
}
