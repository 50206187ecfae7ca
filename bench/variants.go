package bench

import (
	"context"
	"log/slog"
	"time"
)

// variant is one way of running traffic over a shared set-up: a capture
// beside the switch, a port published one way or another. Each variant
// becomes one Row of the report, named after it.
type variant struct {
	name string
	// start prepares the variant on the shared pair (with the rr/crr
	// server port port) and returns the pair to measure — the shared
	// one, or one through a published port — and a function that undoes
	// the variant after the measurement and adds what it saw to the row.
	start func(ctx context.Context, shared Pair, port int, log *slog.Logger) (Pair, func(*Row), error)
}

// variantSuite describes a run that sets one topology up once and
// measures every variant on it, in order, in the same run.
type variantSuite struct {
	// report is the template of the report, as in suite.
	report Report
	outDir string
	mtu    int
	// need are the programs that must be on PATH.
	need     []string
	topology Topology
	variants []variant
	// measure configures every measurement; variant i uses rr/crr port
	// 7001+i, so that no run meets the TIME_WAIT connections (or
	// conntrack entries) of the one before.
	measure MeasureConfig
	// before and after, when set, run before the first and after the
	// last variant while the topology is up, and may add to the report
	// (the proxy benchmark's memory measurement).
	before, after func(ctx context.Context, shared Pair, rep *Report, log *slog.Logger)
	// evaluate computes the targets of the finished report.
	evaluate func(*Report) []Target
}

// runVariants runs s: it checks the tools, sets the topology up, runs
// before, measures each variant, runs after, tears down, computes ratios and targets and
// writes the report files. A variant that fails to start is reported in
// its row; a failed set-up in every row.
func runVariants(ctx context.Context, s variantSuite, log *slog.Logger) (*Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := prepareRun(s.report.Benchmark, s.outDir, s.need, log); err != nil {
		return nil, err
	}
	rep := newRunReport(s.report, s.measure, []int{s.mtu})
	runVariantRows(ctx, s, rep, log)
	return finishReport(ctx, rep, s.evaluate, s.outDir)
}

// runVariantRows sets s.topology up, fills rep's rows and tears down.
func runVariantRows(ctx context.Context, s variantSuite, rep *Report, log *slog.Logger) {
	topo := s.topology
	defer func() {
		start := time.Now()
		topo.Teardown()
		log.Debug("torn down", "topology", topo.Name(), "took", time.Since(start).Round(time.Millisecond))
	}()
	log.Info("setting up", "topology", topo.Name(), "mtu", s.mtu)
	shared, err := topo.Setup(ctx, s.mtu)
	if err != nil {
		log.Warn("setup failed", "err", err)
		for _, v := range s.variants {
			rep.Rows = append(rep.Rows, Row{Topology: v.name, MTU: s.mtu,
				Metrics: Metrics{Errors: []string{"setup: " + oneLine(err.Error())}}})
		}
		return
	}
	if s.before != nil && ctx.Err() == nil {
		s.before(ctx, shared, rep, log)
	}
	for i, v := range s.variants {
		if ctx.Err() != nil {
			break
		}
		mcfg := s.measure
		mcfg.Port = rrPort + i
		rep.Rows = append(rep.Rows, runVariant(ctx, v, shared, s.mtu, mcfg, log.With("variant", v.name)))
	}
	if s.after != nil && ctx.Err() == nil {
		s.after(ctx, shared, rep, log)
	}
}

// runVariant starts one variant, measures it and stops it.
func runVariant(ctx context.Context, v variant, shared Pair, mtu int, mcfg MeasureConfig, log *slog.Logger) Row {
	row := Row{Topology: v.name, MTU: mtu}
	log.Info("starting")
	pair, stop, err := v.start(ctx, shared, mcfg.Port, log)
	if err != nil {
		log.Warn("start failed", "err", err)
		row.Errors = append(row.Errors, "setup: "+oneLine(err.Error()))
		return row
	}
	measureRow(ctx, &row, pair, mcfg, log)
	if stop != nil {
		stop(&row)
	}
	return row
}
