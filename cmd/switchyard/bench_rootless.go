package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/bench"
)

// benchRootlessUsage is the help text of `switchyard bench rootless`.
const benchRootlessUsage = `Usage: switchyard bench rootless [flags]

Measures a rootless network namespace (unshare --user --map-root-user --net)
connected three ways in the same run: 'switchyard slirp4netns' (the drop-in),
slirp4netns and pasta, each started on the namespace's PID as RootlessKit and
Podman start them. At each MTU: namespace -> host TCP bulk throughput (iperf3,
both ways), 64-byte request/response latency and connect/request/close rate
to servers in a namespace reachable only from the host (10.213.0.2, over a
veth pair); and host -> namespace through a port forward on 127.0.0.1
(switchyard and slirp4netns: API add_hostfwd; pasta: --tcp-ports): bulk, rr
and connect rate. Ratios are against slirp4netns (namespace -> host) and
pasta (port forward); the targets are switchyard bulk >= 5x slirp4netns at
MTU 1500 and >= 1x at 65520, and port-forward bulk >= 0.8x pasta. Needs
root, iperf3, unshare, nsenter, slirp4netns and pasta (Debian: passt).
Writes rootless.md, rootless.svg and rootless.json to --out.

Flags:
`

// benchRootlessOpts are the flags of `switchyard bench rootless`.
type benchRootlessOpts struct {
	benchCommonOpts
	mtus        []int
	topologies  []string
	noReverse   bool
	slirp4netns string
	pasta       string
}

// benchRootlessFlags declares the flags of `switchyard bench rootless`.
func benchRootlessFlags(o *benchRootlessOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench rootless", pflag.ContinueOnError)
	o.register(fs, "rootless", "bulk, rr and crr")
	fs.IntSliceVar(&o.mtus, "mtu", []int{1500, bench.NATMaxMTU}, "MTUs to measure at (576-65520)")
	fs.StringSliceVar(&o.topologies, "topology", nil, "topologies to measure (switchyard, slirp4netns, pasta; default all)")
	fs.BoolVar(&o.noReverse, "no-reverse", false, "skip the reverse (host to namespace) bulk transfer of namespace -> host")
	fs.StringVar(&o.slirp4netns, "slirp4netns", "slirp4netns", "the reference slirp4netns")
	fs.StringVar(&o.pasta, "pasta", "pasta", "the reference pasta")
	return fs
}

// benchRootless runs `switchyard bench rootless`.
func benchRootless(args []string, log *slog.Logger) int {
	var o benchRootlessOpts
	fs := benchRootlessFlags(&o)
	if code, done := benchParse(fs, args, "bench rootless", benchRootlessUsage); done {
		return code
	}
	return benchRun("rootless", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunRootless(ctx, bench.RootlessConfig{
			Binary: exe, OutDir: o.out, Duration: o.duration, MTUs: o.mtus, Topologies: o.topologies,
			RRIterations: o.rrIterations, NoReverse: o.noReverse, Slirp4netns: o.slirp4netns, Pasta: o.pasta,
		}, log)
	})
}
