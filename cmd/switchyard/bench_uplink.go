package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/bench"
)

// benchUplinkUsage is the help text of `switchyard bench uplink`.
const benchUplinkUsage = `Usage: switchyard bench uplink [flags]

Measures TCP bulk throughput (iperf3, both directions), 64-byte
request/response latency and connect/request/close rate between an endpoint
and a LAN host, two ways on the same parent interface in the same run: a
kernel macvlan in bridge mode, and a switchyard uplink network (TAP, switch,
AF_PACKET socket). The parent is a veth whose peer is the LAN namespace.
Ratios are against macvlan; the targets are bulk >= 0.5x and rr p50 <= 2x.
Needs root and iperf3. Writes uplink.md, uplink.svg and uplink.json to --out.

Flags:
`

// benchUplinkOpts are the flags of `switchyard bench uplink`.
type benchUplinkOpts struct {
	benchCommonOpts
	mtu int
}

// benchUplinkFlags declares the flags of `switchyard bench uplink`.
func benchUplinkFlags(o *benchUplinkOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench uplink", pflag.ContinueOnError)
	o.register(fs, "uplink", "bulk, rr and crr")
	fs.IntVar(&o.mtu, "mtu", 1500, "MTU of the LAN, the endpoint and the macvlan (576-9000)")
	return fs
}

// benchUplink runs `switchyard bench uplink`.
func benchUplink(args []string, log *slog.Logger) int {
	var o benchUplinkOpts
	fs := benchUplinkFlags(&o)
	if code, done := benchParse(fs, args, "bench uplink", benchUplinkUsage); done {
		return code
	}
	return benchRun("uplink", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunUplink(ctx, bench.UplinkConfig{
			Binary: exe, OutDir: o.out, Duration: o.duration, MTU: o.mtu, RRIterations: o.rrIterations,
		}, log)
	})
}
