package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/bench"
)

// benchCaptureUsage is the help text of `switchyard bench capture`.
const benchCaptureUsage = `Usage: switchyard bench capture [flags]

Measures TCP bulk throughput (iperf3), 64-byte request/response latency and
connect/request/close rate between two namespaces attached to switchyard,
three ways in the same run on the same daemon: with no capture, while
'switchyard capture -w FILE' records every port of the network, and while a
capture with a filter that matches nothing runs. Ratios are against no
capture; the targets are bulk >= 0.5x with the capture to a file and >= 0.9x
with the non-matching filter. Reports each capture's captured and dropped
packets. Needs root and iperf3. Writes capture.md, capture.svg and
capture.json to --out.

Flags:
`

// benchCaptureOpts are the flags of `switchyard bench capture`.
type benchCaptureOpts struct {
	benchCommonOpts
	mtu    int
	filter string
}

// benchCaptureFlags declares the flags of `switchyard bench capture`.
func benchCaptureFlags(o *benchCaptureOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench capture", pflag.ContinueOnError)
	o.register(fs, "capture", "bulk, rr and crr")
	fs.IntVar(&o.mtu, "mtu", 1500, "MTU of the network and endpoints (576-65000)")
	fs.StringVar(&o.filter, "filter", bench.CaptureNoMatchFilter, "filter of the non-matching capture (must match none of the traffic)")
	return fs
}

// benchCapture runs `switchyard bench capture`.
func benchCapture(args []string, log *slog.Logger) int {
	var o benchCaptureOpts
	fs := benchCaptureFlags(&o)
	if code, done := benchParse(fs, args, "bench capture", benchCaptureUsage); done {
		return code
	}
	return benchRun("capture", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunCapture(ctx, bench.CaptureConfig{
			Binary: exe, OutDir: o.out, Duration: o.duration, MTU: o.mtu,
			Filter: o.filter, RRIterations: o.rrIterations,
		}, log)
	})
}
