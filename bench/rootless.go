package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// TopologyPasta is the rootless benchmark's pasta topology (Debian's
// passt package). Its other topologies are TopologySwitchyard (`switchyard
// slirp4netns`, the drop-in) and TopologySlirp (slirp4netns itself).
const TopologyPasta = "pasta"

// The references of the rootless benchmark's two tables: slirp4netns for
// namespace → host, pasta for the port forward (host → namespace).
const (
	RootlessReference        = TopologySlirp
	RootlessForwardReference = TopologyPasta
)

// rootlessTargets are the namespace → host targets: switchyard
// bulk at least factor × slirp4netns's at mtu, in the same run.
var rootlessTargets = []struct {
	mtu    int
	factor float64
}{{1500, 5}, {65520, 1}}

// rootlessForwardFactor is the port-forward target: switchyard bulk at
// least this share of pasta's, at every MTU measured.
const rootlessForwardFactor = 0.8

// The rootless benchmark's servers for namespace → host traffic live in a
// namespace reachable only from the host over a veth pair, as in the NAT
// benchmark but on a prefix of its own.
var (
	// RootlessRemotePrefix is the /30 of the veth pair.
	RootlessRemotePrefix = netip.MustParsePrefix("10.213.0.0/30")
	// RootlessRemoteHostIP is the root namespace's side of the pair.
	RootlessRemoteHostIP = netip.MustParseAddr("10.213.0.1")
	// RootlessRemoteIP is the servers' address in the remote namespace.
	RootlessRemoteIP = netip.MustParseAddr("10.213.0.2")
)

// The rootless namespace's addresses: slirp4netns's defaults, which the
// drop-in shares and pasta is given.
var (
	rootlessCIDR    = netip.MustParsePrefix("10.0.2.0/24")
	rootlessGuestIP = netip.MustParseAddr("10.0.2.100")
	rootlessGateway = netip.MustParseAddr("10.0.2.2")
)

// rootlessTap is the interface every helper creates in the namespace.
const rootlessTap = "tap0"

// rootlessHostPortBase: run i forwards host ports base + 100×i + 1 (rr/crr)
// and + 3 (iperf3) on 127.0.0.1, so that no run meets the TIME_WAIT
// connections of another.
const rootlessHostPortBase = 21000

// RootlessConfig configures RunRootless.
type RootlessConfig struct {
	// Binary is the switchyard binary: it is the drop-in under test and
	// runs the `bench peer` subcommands. Required.
	Binary string
	// OutDir receives rootless.md, rootless.svg and rootless.json; ""
	// means "bench-out".
	OutDir string
	// Duration is the length of each bulk, rr and crr run; 0 means 5 s.
	Duration time.Duration
	// MTUs to measure at (576..65520); empty means 1500 and 65520. Both
	// directions are measured at each.
	MTUs []int
	// Topologies to measure, by name; empty means all three.
	Topologies []string
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// NoReverse skips the reverse bulk transfer of namespace → host
	// (server to namespace).
	NoReverse bool
	// Iperf, Slirp4netns and Pasta name the programs; "" means the usual
	// names on PATH.
	Iperf       string
	Slirp4netns string
	Pasta       string
}

// rootlessTopologies are the topologies in the order they run.
var rootlessTopologies = []string{TopologySwitchyard, TopologySlirp, TopologyPasta}

// withDefaults validates cfg and fills in defaults.
func (cfg RootlessConfig) withDefaults() (RootlessConfig, error) {
	c := common{"bench rootless", cfg.Binary, &cfg.OutDir, &cfg.Duration, &cfg.MTUs}
	if err := c.fill([]int{1500, NATMaxMTU}, NATMaxMTU); err != nil {
		return cfg, err
	}
	if err := c.topologies(&cfg.Topologies, rootlessTopologies...); err != nil {
		return cfg, err
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	if cfg.Slirp4netns == "" {
		cfg.Slirp4netns = "slirp4netns"
	}
	if cfg.Pasta == "" {
		cfg.Pasta = "pasta"
	}
	return cfg, nil
}

// helperProgram is the command (without arguments) that connects a
// rootless namespace for a topology.
func (cfg RootlessConfig) helperProgram(name string) []string {
	switch name {
	case TopologySwitchyard:
		return []string{cfg.Binary, "slirp4netns"}
	case TopologySlirp:
		return []string{cfg.Slirp4netns}
	}
	return []string{cfg.Pasta}
}

// needs lists the programs the configured topologies need on PATH.
func (cfg RootlessConfig) needs() []string {
	need := []string{"ip", "sysctl", "unshare", cfg.Iperf, cfg.Binary}
	if slices.Contains(cfg.Topologies, TopologySwitchyard) {
		need = append(need, "nsenter") // how the drop-in joins the namespace
	}
	if slices.Contains(cfg.Topologies, TopologySlirp) {
		need = append(need, cfg.Slirp4netns)
	}
	if slices.Contains(cfg.Topologies, TopologyPasta) {
		need = append(need, cfg.Pasta)
	}
	return need
}

// RunRootless measures a rootless network namespace (created by
// `unshare --user --map-root-user --net`) connected three ways in the same
// run: switchyard's slirp4netns drop-in, slirp4netns and pasta. At every
// MTU it measures namespace → host traffic (TCP bulk both ways, 64-byte
// request/response latency, connect/request/close rate to servers in a
// namespace reachable only from the host) and host → namespace traffic
// through a port forward on 127.0.0.1 (bulk, rr, crr). It writes
// rootless.md, rootless.svg and rootless.json to cfg.OutDir and returns
// the report, with ratios against slirp4netns (namespace → host) and pasta
// (port forward, Report.PortForward) and the targets: switchyard
// bulk ≥ 5× slirp4netns at MTU 1500 and ≥ 1× at 65520, and port-forward
// bulk ≥ 0.8× pasta. Failures are handled as in RunSwitch.
func RunRootless(ctx context.Context, cfg RootlessConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench rootless: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := prepareRun("rootless", cfg.OutDir, cfg.needs(), log); err != nil {
		if strings.Contains(err.Error(), cfg.Pasta) {
			err = fmt.Errorf("%w (pasta comes with Debian's passt package)", err)
		}
		return nil, err
	}
	notes := rootlessNotes(!cfg.NoReverse)
	if v := rootlessVersions(ctx, cfg); v != "" {
		notes = append(notes, "Versions: "+v+".")
	}
	mcfg := MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration,
		RRIterations: cfg.RRIterations, Reverse: !cfg.NoReverse}
	rep := newRunReport(Report{
		Benchmark: "rootless", Title: "Rootless benchmark", Reference: RootlessReference,
		BulkReverse: !cfg.NoReverse, TargetMTUs: rootlessTargetMTUs(cfg.MTUs), Notes: notes,
	}, mcfg, cfg.MTUs)
	rep.Caption = rootlessCaption
	rep.PortForward = &PortForward{Caption: rootlessForwardCaption, Reference: RootlessForwardReference, MTUs: cfg.MTUs}
	run := 0
	for _, mtu := range cfg.MTUs {
		for _, name := range cfg.Topologies {
			if ctx.Err() != nil {
				break
			}
			out, fwd := runRootless(ctx, cfg, name, mtu, rootlessPortsFor(run), mcfg, log)
			run++
			rep.Rows = append(rep.Rows, out)
			if fwd != nil {
				rep.PortForward.Rows = append(rep.PortForward.Rows, *fwd)
			}
		}
	}
	return finishReport(ctx, rep, (*Report).EvaluateRootlessTargets, cfg.OutDir)
}

// runRootless sets one topology up at one MTU, measures both directions
// and tears it down. The port-forward row is nil when ctx ended before
// it was measured.
func runRootless(ctx context.Context, cfg RootlessConfig, name string, mtu int, ports rootlessPorts,
	mcfg MeasureConfig, log *slog.Logger) (Row, *Row) {
	out, fwd := Row{Topology: name, MTU: mtu}, Row{Topology: name, MTU: mtu}
	log = log.With("topology", name, "mtu", mtu)
	topo, err := newRootlessTopology(name, cfg.helperProgram(name), ports, log)
	if err != nil {
		out.Errors = append(out.Errors, "setup: "+err.Error())
		fwd.Errors = append(fwd.Errors, "setup: "+err.Error())
		return out, &fwd
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
		out.Errors = append(out.Errors, "setup: "+oneLine(err.Error()))
		fwd.Errors = append(fwd.Errors, "setup: "+oneLine(err.Error()))
		return out, &fwd
	}
	mcfg.Port = ports.rr
	measureRow(ctx, &out, pair, mcfg, log.With("direction", "namespace to host"))
	topo.checkHelper(&out)
	if ctx.Err() != nil {
		return out, nil
	}
	fcfg := mcfg
	fcfg.Reverse = false
	measureRow(ctx, &fwd, topo.ForwardPair(), fcfg, log.With("direction", "port forward"))
	topo.checkHelper(&fwd)
	return out, &fwd
}

// rootlessTargetMTUs are the MTUs of the targets: those of the namespace
// → host targets and every MTU the port forward is measured at, in
// ascending order.
func rootlessTargetMTUs(mtus []int) []int {
	var all []int
	for _, t := range rootlessTargets {
		all = append(all, t.mtu)
	}
	for _, m := range mtus {
		if !slices.Contains(all, m) {
			all = append(all, m)
		}
	}
	slices.Sort(all)
	return all
}

// The captions of the rootless report's two tables.
const (
	rootlessCaption = "Namespace → host: the client in the rootless namespace, the servers in a namespace " +
		"reachable only from the host (ratios against slirp4netns):"
	rootlessForwardCaption = "Host → namespace through a port forward: the client on the host dials " +
		"127.0.0.1:HOSTPORT, the servers listen in the rootless namespace (ratios against pasta):"
)

// rootlessNotes explains the rootless benchmark's set-up in the report.
func rootlessNotes(reverse bool) []string {
	bulk := "Namespace → host bulk is namespace → server."
	if reverse {
		bulk = "Namespace → host bulk is namespace → server; bulk rev is server → namespace (iperf3 -R)."
	}
	return []string{
		"Each topology gets a fresh namespace made the rootless way (`unshare --user --map-root-user --net sleep N`, " +
			"addressed by its PID) and connected by a helper that runs in the host namespace and NATs to host sockets: " +
			"switchyard: `switchyard slirp4netns --configure --mtu=M --disable-host-loopback -r 3 --api-socket S PID tap0`; " +
			"slirp4netns: the same command line; pasta: `pasta --runas 0 --foreground --ipv4-only --config-net " +
			"--ns-ifname tap0 --mtu M --address 10.0.2.100 --netmask 24 --gateway 10.0.2.2 --no-map-gw " +
			"--tcp-ports 127.0.0.1/HOSTPORT:PORT... --udp-ports none --tcp-ns none --udp-ns none PID` " +
			"(slirp4netns's addresses; --no-map-gw is its --disable-host-loopback). The harness brings the namespace's " +
			"loopback up, as container runtimes do, and runs the peers in the network namespace (bound with `ip netns attach`).",
		fmt.Sprintf("Namespace → host: the client (%s) dials servers in a namespace joined to the host by a veth pair "+
			"(host %s, server %s) at the benchmark's MTU, so that every connection crosses the helper to host sockets. %s",
			rootlessGuestIP, RootlessRemoteHostIP, RootlessRemoteIP, bulk),
		"Port forward: switchyard and slirp4netns forward through their API (add_hostfwd, host_addr 127.0.0.1), pasta " +
			"with --tcp-ports at start; the servers listen on 0.0.0.0 in the namespace. switchyard dials the server from " +
			"inside the namespace (from a transparent socket, so the server sees 10.0.2.2 as slirp4netns shows a loopback " +
			"client) and splices; pasta splices loopback connections the same way (its fastest path); " +
			"slirp4netns goes through libslirp's TCP stack and the TAP. Port-forward ratios are against pasta.",
		"Targets compare bulk throughput (iperf3, client → server).",
	}
}

// rootlessVersions names the reference programs' versions, "" when none
// can be read.
func rootlessVersions(ctx context.Context, cfg RootlessConfig) string {
	var parts []string
	if slices.Contains(cfg.Topologies, TopologySlirp) {
		if v := slirpVersion(ctx, cfg.Slirp4netns); v != "" {
			parts = append(parts, v)
		}
	}
	if slices.Contains(cfg.Topologies, TopologyPasta) {
		if out, err := runCmd(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${Version}", "passt"); err == nil {
			if v := strings.TrimSpace(string(out)); v != "" {
				parts = append(parts, "pasta: Debian passt "+v)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// PortForward is the rootless benchmark's port-forward table: one Row per
// topology and MTU, with ratios against Reference at the same MTU.
type PortForward struct {
	// Caption introduces the table in the markdown.
	Caption   string `json:"caption,omitempty"`
	Reference string `json:"reference"`
	MTUs      []int  `json:"mtus"`
	Rows      []Row  `json:"rows"`
}

// report returns a report over the section's rows (sharing them), for
// the table, ratio and chart code.
func (pf *PortForward) report() *Report {
	return &Report{Reference: pf.Reference, MTUs: pf.MTUs, Rows: pf.Rows}
}

// portForwardTable returns the port-forward section's caption and table,
// "" when there is none.
func (rep *Report) portForwardTable() string {
	pf := rep.PortForward
	if pf == nil {
		return ""
	}
	s := pf.report().Table()
	if pf.Caption != "" {
		s = pf.Caption + "\n\n" + s
	}
	return s
}

// portForwardMetrics are the chart panels of the port-forward section.
var portForwardMetrics = []chartMetric{
	{title: "port forward: TCP bulk, Gb/s (higher is better)", value: (*Row).BulkGbps},
	{title: "port forward: 64 B rr p50, µs (lower is better)", value: (*Row).P50US},
	{title: "port forward: 64 B rr p99, µs (lower is better)", value: (*Row).P99US},
	{title: "port forward: conn/s (higher is better)", value: (*Row).ConnsPerSec},
}

// EvaluateRootlessTargets checks the rootless targets:
// switchyard namespace → host bulk ≥ 5× slirp4netns at MTU 1500 and ≥ 1×
// at 65520, and switchyard port-forward bulk ≥ 0.8× pasta at every MTU of
// the port-forward section. A target whose MTU was not measured is left
// out; nil means none was.
func (rep *Report) EvaluateRootlessTargets() []Target {
	var targets []Target
	for _, rt := range rootlessTargets {
		if t, ok := bulkTarget(rep, fmt.Sprintf("%s namespace → host bulk ≥ %g× %s (MTU %d)",
			TopologySwitchyard, rt.factor, TopologySlirp, rt.mtu), TopologySwitchyard, TopologySlirp, rt.mtu, rt.factor); ok {
			targets = append(targets, t)
		}
	}
	if pf := rep.PortForward; pf != nil {
		fwd := pf.report()
		_, mtus := fwd.axes()
		for _, mtu := range mtus {
			if t, ok := bulkTarget(fwd, fmt.Sprintf("%s port forward bulk ≥ %g× %s (MTU %d)",
				TopologySwitchyard, rootlessForwardFactor, TopologyPasta, mtu), TopologySwitchyard, TopologyPasta, mtu, rootlessForwardFactor); ok {
				targets = append(targets, t)
			}
		}
	}
	return targets
}

// bulkTarget evaluates name's bulk ≥ factor × refName's at mtu in rep;
// ok is false when neither row exists.
func bulkTarget(rep *Report, goal, name, refName string, mtu int, factor float64) (Target, bool) {
	r, ref := rep.Find(name, mtu), rep.Find(refName, mtu)
	if r == nil && ref == nil {
		return Target{}, false
	}
	var (
		v, rv     float64
		vok, rvok bool
	)
	if r != nil {
		v, vok = r.BulkGbps()
	}
	if ref != nil {
		rv, rvok = ref.BulkGbps()
	}
	return atLeast(goal, "Gb/s", name, v, vok, rv, rvok, refName, factor), true
}
