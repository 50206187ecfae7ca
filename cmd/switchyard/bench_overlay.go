package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/bench"
)

// benchOverlayUsage is the help text of `switchyard bench overlay`.
const benchOverlayUsage = `Usage: switchyard bench overlay [flags]

Measures TCP bulk throughput (iperf3), 64-byte request/response latency and
connect/request/close rate between endpoints on two hosts (namespaces on one
underlay bridge), through switchyard's overlay (a daemon per host, VXLAN
between them) and through two Linux vxlan devices bridged to veths (what
flannel's vxlan backend and Docker's overlay use), in the same run. Ratios
are against kernel vxlan; the targets are bulk >= 0.5x and rr p50 <= 2x.
Each figure is the median of --repeat runs (the topologies alternate).
Needs root and iperf3. Writes overlay.md, overlay.svg and overlay.json to
--out.

Flags:
`

// benchOverlayOpts are the flags of `switchyard bench overlay`.
type benchOverlayOpts struct {
	benchCommonOpts
	mtus   []int
	repeat int
}

// benchOverlayFlags declares the flags of `switchyard bench overlay`.
func benchOverlayFlags(o *benchOverlayOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench overlay", pflag.ContinueOnError)
	o.register(fs, "overlay", "bulk, rr and crr")
	fs.IntSliceVar(&o.mtus, "mtu", []int{1500}, "underlay MTUs to measure at (endpoints get 50 bytes less)")
	fs.IntVar(&o.repeat, "repeat", 3, "measure each topology this many times, alternating them, and report medians")
	return fs
}

// benchOverlay runs `switchyard bench overlay`.
func benchOverlay(args []string, log *slog.Logger) int {
	var o benchOverlayOpts
	fs := benchOverlayFlags(&o)
	if code, done := benchParse(fs, args, "bench overlay", benchOverlayUsage); done {
		return code
	}
	if o.repeat < 1 {
		fmt.Fprintf(os.Stderr, "switchyard bench overlay: --repeat %d: at least 1\n", o.repeat)
		return 2
	}
	return benchRun("overlay", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunOverlay(ctx, bench.OverlayConfig{Binary: exe, OutDir: o.out, Duration: o.duration,
			MTUs: o.mtus, RRIterations: o.rrIterations, Repeat: o.repeat}, log)
	})
}
