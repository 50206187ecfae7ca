package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/bench"
)

// benchProxyUsage is the help text of `switchyard bench proxy`.
const benchProxyUsage = `Usage: switchyard bench proxy [flags]

Measures a published port from a client namespace outside switchyard
(10.211.0.2, over a veth pair, dialing 10.211.0.1:HOSTPORT), four ways in the
same run: switchyard's userspace path, switchyard's kernel path (nftables
DNAT), docker-proxy (Debian docker.io) and kernel DNAT to a veth namespace.
Each gets TCP bulk (iperf3), 64-byte TCP request/response latency,
connect/request/close rate and 64-byte UDP request/response latency. Then
compares the PSS of the switchyard daemon with --mappings published ports
against the summed PSS of one docker-proxy process per port. Ratios are
against docker-proxy; the targets are userspace bulk >= 1x docker-proxy,
conn/s >= 1.5x, UDP rr p50 <= 0.7x, and memory <= 1/10. Needs root, iperf3,
nft and docker-proxy. Writes proxy.md, proxy.svg and proxy.json to --out.

Flags:
`

// benchProxyOpts are the flags of `switchyard bench proxy`.
type benchProxyOpts struct {
	benchCommonOpts
	mappings    int
	startLimit  time.Duration
	dockerProxy string
}

// benchProxyFlags declares the flags of `switchyard bench proxy`.
func benchProxyFlags(o *benchProxyOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench proxy", pflag.ContinueOnError)
	o.register(fs, "proxy", "bulk, rr, crr and UDP rr")
	fs.IntVar(&o.mappings, "mappings", 1000, "port mappings of the memory comparison (0: skip it)")
	fs.DurationVar(&o.startLimit, "start-limit", time.Minute, "stop starting docker-proxy processes after this long and extrapolate")
	fs.StringVar(&o.dockerProxy, "docker-proxy", bench.DefaultDockerProxy, "the reference docker-proxy")
	return fs
}

// benchProxy runs `switchyard bench proxy`.
func benchProxy(args []string, log *slog.Logger) int {
	var o benchProxyOpts
	fs := benchProxyFlags(&o)
	if code, done := benchParse(fs, args, "bench proxy", benchProxyUsage); done {
		return code
	}
	if o.mappings < 0 {
		fmt.Fprintln(os.Stderr, "switchyard bench proxy: --mappings must not be negative")
		return 2
	}
	mappings := o.mappings
	if mappings == 0 {
		mappings = -1 // skip
	}
	return benchRun("proxy", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunProxy(ctx, bench.ProxyConfig{
			Binary: exe, OutDir: o.out, Duration: o.duration, Mappings: mappings, StartLimit: o.startLimit,
			DockerProxy: o.dockerProxy, RRIterations: o.rrIterations,
		}, log)
	})
}
