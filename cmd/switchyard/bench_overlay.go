package main

import (
	"context"
	"log/slog"

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
Needs root and iperf3. Writes overlay.md, overlay.svg and overlay.json to
--out.

Flags:
`

// benchOverlayOpts are the flags of `switchyard bench overlay`.
type benchOverlayOpts struct {
	benchCommonOpts
	mtus []int
}

// benchOverlayFlags declares the flags of `switchyard bench overlay`.
func benchOverlayFlags(o *benchOverlayOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench overlay", pflag.ContinueOnError)
	o.register(fs, "overlay", "bulk, rr and crr")
	fs.IntSliceVar(&o.mtus, "mtu", []int{1500}, "underlay MTUs to measure at (endpoints get 50 bytes less)")
	return fs
}

// benchOverlay runs `switchyard bench overlay`.
func benchOverlay(args []string, log *slog.Logger) int {
	var o benchOverlayOpts
	fs := benchOverlayFlags(&o)
	if code, done := benchParse(fs, args, "bench overlay", benchOverlayUsage); done {
		return code
	}
	return benchRun("overlay", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunOverlay(ctx, bench.OverlayConfig{Binary: exe, OutDir: o.out, Duration: o.duration,
			MTUs: o.mtus, RRIterations: o.rrIterations}, log)
	})
}
