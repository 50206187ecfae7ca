package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/bench"
)

// benchUsage is the overview printed by `switchyard bench` and
// `switchyard bench --help`, followed by each benchmark's flags.
const benchUsage = `Usage: switchyard bench switch|nat|capture|proxy|rootless|uplink|overlay [flags]

  switch   TCP bulk throughput (iperf3), 64-byte request/response latency and
           connect/request/close rate between two network namespaces connected
           through switchyard, a Linux bridge and vde_switch.
  nat      The same from an endpoint namespace to a server reachable only from
           the host, through the switchyard gateway NAT and slirp4netns.
  capture  The switchyard switch figures with no capture, with a capture of
           every port to a file and with a capture filter matching nothing.
  proxy    A published port (TCP and UDP) through switchyard's userspace and
           kernel paths, docker-proxy and kernel DNAT; memory of 1000
           mappings against 1000 docker-proxy processes.
  rootless A rootless namespace through 'switchyard slirp4netns', slirp4netns
           and pasta: namespace -> host traffic and a port forward into it.
  uplink   An endpoint <-> LAN host through a switchyard uplink network and a
           kernel macvlan (bridge mode) on the same parent interface.
  overlay  Endpoints on two hosts (namespaces on one underlay bridge) through
           switchyard's VXLAN overlay and through Linux vxlan devices.

All need root and iperf3 (and vde_switch, slirp4netns, docker-proxy or
pasta) and write <benchmark>.md, .svg and .json to --out.
`

// benchSwitchUsage is the help text of `switchyard bench switch`.
const benchSwitchUsage = `Usage: switchyard bench switch [flags]

Measures TCP bulk throughput (iperf3), 64-byte request/response latency and
connect/request/close rate between two network namespaces connected through
switchyard, a Linux bridge and vde_switch, at each MTU. Needs root, iperf3
and vde_switch. Writes switch.md, switch.svg and switch.json to --out.

Flags:
`

// benchNATUsage is the help text of `switchyard bench nat`.
const benchNATUsage = `Usage: switchyard bench nat [flags]

Measures TCP bulk throughput (iperf3, endpoint to server and back), 64-byte
request/response latency and connect/request/close rate from an endpoint
namespace to a server in a namespace reachable only from the host
(10.206.0.2, over a veth pair), through the switchyard gateway NAT and
through slirp4netns, at each MTU, in the same run. Ratios are against
slirp4netns; the targets are switchyard-nat bulk >= 5x slirp4netns at MTU
1500 and >= 1x at 65520. Needs root, iperf3 and slirp4netns. Writes nat.md,
nat.svg and nat.json to --out.

Flags:
`

// benchOverview writes the overview and every benchmark's flags to w.
func benchOverview(w io.Writer) {
	fmt.Fprint(w, benchUsage)
	fmt.Fprint(w, "\nswitch flags:\n"+benchSwitchFlags(new(benchSwitchOpts)).FlagUsages())
	fmt.Fprint(w, "\nnat flags:\n"+benchNATFlags(new(benchNATOpts)).FlagUsages())
	fmt.Fprint(w, "\ncapture flags:\n"+benchCaptureFlags(new(benchCaptureOpts)).FlagUsages())
	fmt.Fprint(w, "\nproxy flags:\n"+benchProxyFlags(new(benchProxyOpts)).FlagUsages())
	fmt.Fprint(w, "\nrootless flags:\n"+benchRootlessFlags(new(benchRootlessOpts)).FlagUsages())
	fmt.Fprint(w, "\nuplink flags:\n"+benchUplinkFlags(new(benchUplinkOpts)).FlagUsages())
}

// benchMain runs `switchyard bench ...`; args follow "bench". It returns
// the process exit code.
func benchMain(args []string, log *slog.Logger) int {
	if len(args) == 0 {
		benchOverview(os.Stderr)
		return 2
	}
	switch args[0] {
	case "switch":
		return benchSwitch(args[1:], log)
	case "nat":
		return benchNAT(args[1:], log)
	case "capture":
		return benchCapture(args[1:], log)
	case "proxy":
		return benchProxy(args[1:], log)
	case "rootless":
		return benchRootless(args[1:], log)
	case "uplink":
		return benchUplink(args[1:], log)
	case "overlay":
		return benchOverlay(args[1:], log)
	case "peer":
		return benchPeer(args[1:], log)
	case "-h", "--help", "help":
		benchOverview(os.Stdout)
		return 0
	}
	fmt.Fprintf(os.Stderr, "switchyard bench: unknown benchmark %q (want \"switch\", \"nat\", \"capture\", \"proxy\", \"rootless\", \"uplink\" or \"overlay\")\n", args[0])
	return 2
}

// benchSwitchOpts are the flags of `switchyard bench switch`.
type benchSwitchOpts struct {
	benchCommonOpts
	mtus       []int
	topologies []string
}

// benchSwitchFlags declares the flags of `switchyard bench switch`.
func benchSwitchFlags(o *benchSwitchOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench switch", pflag.ContinueOnError)
	o.register(fs, "switch", "bulk, rr and crr")
	fs.IntSliceVar(&o.mtus, "mtu", []int{1500, 9000}, "MTUs to measure at")
	fs.StringSliceVar(&o.topologies, "topology", nil, "topologies to measure (switchyard, kernel-bridge, vde_switch; default all)")
	return fs
}

// benchNATOpts are the flags of `switchyard bench nat`.
type benchNATOpts struct {
	benchCommonOpts
	mtus       []int
	topologies []string
	noReverse  bool
}

// benchNATFlags declares the flags of `switchyard bench nat`.
func benchNATFlags(o *benchNATOpts) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bench nat", pflag.ContinueOnError)
	o.register(fs, "nat", "bulk, rr and crr")
	fs.IntSliceVar(&o.mtus, "mtu", []int{1500, bench.NATMaxMTU}, "MTUs to measure at (576-65520)")
	fs.StringSliceVar(&o.topologies, "topology", nil, "topologies to measure (switchyard-nat, slirp4netns; default both)")
	fs.BoolVar(&o.noReverse, "no-reverse", false, "skip the reverse (server to endpoint) bulk transfer")
	return fs
}

// benchParse parses args into fs for the command `switchyard <cmd>`. It
// returns done with an exit code when the command should stop: 0 after
// printing usage (header, then the flags) to stdout for --help, 2 after printing the
// error as one line to stderr for a bad flag. pflag's ContinueOnError
// prints neither, and would print usage to stderr for --help.
func benchParse(fs *pflag.FlagSet, args []string, cmd, header string) (code int, done bool) {
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		fmt.Fprint(os.Stdout, header+fs.FlagUsages())
		return 0, true
	case err != nil:
		fmt.Fprintf(os.Stderr, "switchyard %s: %v\n", cmd, err)
		return 2, true
	case fs.NArg() > 0:
		fmt.Fprintf(os.Stderr, "switchyard %s: unexpected arguments %q\n", cmd, fs.Args())
		return 2, true
	}
	return 0, false
}

// benchSwitch runs `switchyard bench switch`.
func benchSwitch(args []string, log *slog.Logger) int {
	var o benchSwitchOpts
	fs := benchSwitchFlags(&o)
	if code, done := benchParse(fs, args, "bench switch", benchSwitchUsage); done {
		return code
	}
	return benchRun("switch", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunSwitch(ctx, bench.SwitchConfig{
			Binary: exe, OutDir: o.out, Duration: o.duration, MTUs: o.mtus,
			Topologies: o.topologies, RRIterations: o.rrIterations,
		}, log)
	})
}

// benchNAT runs `switchyard bench nat`.
func benchNAT(args []string, log *slog.Logger) int {
	var o benchNATOpts
	fs := benchNATFlags(&o)
	if code, done := benchParse(fs, args, "bench nat", benchNATUsage); done {
		return code
	}
	return benchRun("nat", o.out, log, func(ctx context.Context, exe string) (*bench.Report, error) {
		return bench.RunNAT(ctx, bench.NATConfig{
			Binary: exe, OutDir: o.out, Duration: o.duration, MTUs: o.mtus,
			Topologies: o.topologies, RRIterations: o.rrIterations, NoReverse: o.noReverse,
		}, log)
	})
}

// benchRun runs a benchmark with this binary as the daemon and peers,
// until it ends or SIGINT/SIGTERM, prints its markdown report (also a
// partial one) and returns the exit code.
func benchRun(name, out string, log *slog.Logger, run func(ctx context.Context, exe string) (*bench.Report, error)) int {
	exe, err := os.Executable()
	if err != nil {
		log.Error("bench "+name+": cannot find own binary", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, exe)
	if rep != nil {
		fmt.Print(rep.Markdown())
		fmt.Printf("\nWrote %s/%s.md, %s.svg and %s.json\n", out, name, name, name)
	}
	if err != nil {
		log.Error("bench "+name+" failed", "err", err)
		return 1
	}
	return 0
}

// benchPeer runs the hidden `switchyard bench peer rr-server|rr-client|
// crr-client|udp-server|udp-rr-client` that the harness starts inside
// namespaces. Results are JSON on stdout.
func benchPeer(args []string, log *slog.Logger) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "switchyard bench peer: want rr-server, rr-client, crr-client, udp-server or udp-rr-client")
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Println("Usage: switchyard bench peer rr-server|rr-client|crr-client|udp-server|udp-rr-client [flags]")
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		fs  = pflag.NewFlagSet("bench peer "+args[0], pflag.ContinueOnError)
		run func() (any, error)
	)
	size := fs.Int("size", bench.DefaultMessageSize, "request and response size in bytes")
	switch args[0] {
	case "rr-server":
		var cfg bench.RRServerConfig
		fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:7001", "address to listen on")
		fs.DurationVar(&cfg.MaxDuration, "max-duration", 10*time.Minute, "exit after this long")
		run = func() (any, error) {
			cfg.Size = *size
			stats, err := bench.RunRRServer(ctx, cfg, func(a net.Addr) {
				benchPrintJSON(os.Stdout, map[string]string{"event": "listening", "addr": a.String()})
			})
			return struct {
				Event string `json:"event"`
				bench.RRServerStats
			}{"done", stats}, err
		}
	case "rr-client":
		var cfg bench.RRClientConfig
		fs.StringVar(&cfg.Addr, "addr", "", "echo server address, host:port")
		fs.IntVar(&cfg.Iterations, "iterations", 0, "stop after this many exchanges")
		fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long")
		fs.IntVar(&cfg.Warmup, "warmup", 100, "unrecorded exchanges first")
		fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "bound of each exchange")
		run = func() (any, error) { cfg.Size = *size; return bench.RunRRClient(ctx, cfg) }
	case "crr-client":
		var cfg bench.CRRClientConfig
		fs.StringVar(&cfg.Addr, "addr", "", "echo server address, host:port")
		fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "stop after this long")
		fs.IntVar(&cfg.MaxConns, "max-conns", 0, "stop after this many connections (0: no limit)")
		fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "bound of each connection")
		run = func() (any, error) { cfg.Size = *size; return bench.RunCRRClient(ctx, cfg) }
	case "udp-server":
		var cfg bench.UDPServerConfig
		fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:7101", "UDP address to listen on")
		fs.DurationVar(&cfg.MaxDuration, "max-duration", 10*time.Minute, "exit after this long")
		run = func() (any, error) {
			stats, err := bench.RunUDPServer(ctx, cfg, func(a net.Addr) {
				benchPrintJSON(os.Stdout, map[string]string{"event": "listening", "addr": a.String()})
			})
			return struct {
				Event string `json:"event"`
				bench.UDPServerStats
			}{"done", stats}, err
		}
	case "udp-rr-client":
		var cfg bench.UDPRRClientConfig
		fs.StringVar(&cfg.Addr, "addr", "", "UDP echo server address, host:port")
		fs.IntVar(&cfg.Iterations, "iterations", 0, "stop after this many answered exchanges")
		fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long")
		fs.IntVar(&cfg.Warmup, "warmup", 100, "unrecorded exchanges first")
		fs.DurationVar(&cfg.Timeout, "timeout", 500*time.Millisecond, "wait this long for an answer before counting a datagram lost")
		run = func() (any, error) { cfg.Size = *size; return bench.RunUDPRRClient(ctx, cfg) }
	default:
		fmt.Fprintf(os.Stderr, "switchyard bench peer: unknown peer %q\n", args[0])
		return 2
	}
	header := "Usage: switchyard bench peer " + args[0] + " [flags]\n\nFlags:\n"
	if code, done := benchParse(fs, args[1:], "bench peer "+args[0], header); done {
		return code
	}
	res, err := run()
	if err != nil {
		log.Error("bench peer failed", "peer", args[0], "err", err)
		return 1
	}
	if err := benchPrintJSON(os.Stdout, res); err != nil {
		log.Error("bench peer: write result", "err", err)
		return 1
	}
	return 0
}

// benchPrintJSON writes v as one line of JSON.
func benchPrintJSON(w io.Writer, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return nil
}
