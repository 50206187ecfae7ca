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

// Topology names accepted in NATConfig.Topologies.
const (
	TopologySwitchyardNAT = "switchyard-nat"
	TopologySlirp         = "slirp4netns"
)

// NATReference is the topology the NAT benchmark compares with.
const NATReference = TopologySlirp

// NATMaxMTU is the largest MTU the NAT benchmark accepts: switchyard's
// network limit (slirp4netns allows 65521).
const NATMaxMTU = 65520

// natTargets are the targets: switchyard-nat bulk (endpoint to
// host) at least factor × slirp4netns's at mtu, in the same run.
var natTargets = []struct {
	mtu    int
	factor float64
}{{1500, 5}, {65520, 1}}

// natSubnets are the endpoint subnets of the NAT topologies.
var natSubnets = map[string]netip.Prefix{
	TopologySwitchyardNAT: netip.MustParsePrefix("10.207.0.0/24"),
	TopologySlirp:         netip.MustParsePrefix("10.0.2.0/24"),
}

// NATConfig configures RunNAT.
type NATConfig struct {
	// Binary is the switchyard binary: it runs the daemon and the
	// `bench peer` subcommands. Required.
	Binary string
	// OutDir receives nat.md, nat.svg and nat.json; "" means "bench-out".
	OutDir string
	// Duration is the length of each bulk, rr and crr run; 0 means 5 s.
	Duration time.Duration
	// MTUs to measure at (576..65520); empty means 1500 and 65520.
	MTUs []int
	// Topologies to measure, by name; empty means both.
	Topologies []string
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// NoReverse skips the reverse bulk transfer (server to endpoint).
	NoReverse bool
	// Iperf and Slirp4netns name the iperf3 and slirp4netns programs; ""
	// means the usual names on PATH.
	Iperf       string
	Slirp4netns string
}

// withDefaults validates cfg and fills in defaults.
func (cfg NATConfig) withDefaults() (NATConfig, error) {
	c := common{"bench nat", cfg.Binary, &cfg.OutDir, &cfg.Duration, &cfg.MTUs}
	if err := c.fill([]int{1500, NATMaxMTU}, NATMaxMTU); err != nil {
		return cfg, err
	}
	if err := c.topologies(&cfg.Topologies, TopologySwitchyardNAT, TopologySlirp); err != nil {
		return cfg, err
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	if cfg.Slirp4netns == "" {
		cfg.Slirp4netns = "slirp4netns"
	}
	return cfg, nil
}

// newTopology builds a topology of the NAT benchmark by name.
func (cfg NATConfig) newTopology(name string, log *slog.Logger) (Topology, error) {
	opts := TopologyOptions{Subnet: natSubnets[name], Log: log}
	switch name {
	case TopologySwitchyardNAT:
		return NewSwitchyardNATTopology(cfg.Binary, opts)
	case TopologySlirp:
		return NewSlirpTopology(cfg.Slirp4netns, opts)
	}
	return nil, fmt.Errorf("unknown topology %q", name)
}

// RunNAT measures endpoint-to-host traffic through the switchyard gateway
// NAT and through slirp4netns, at every configured MTU, in one run: TCP
// bulk from the endpoint to a server reachable only from the host (and
// back, unless NoReverse), 64-byte request/response latency and
// connect/request/close rate. It writes nat.md, nat.svg and nat.json to
// cfg.OutDir and returns the report, with ratios against slirp4netns and
// the targets (switchyard-nat bulk ≥ 5× slirp4netns at MTU 1500,
// ≥ 1× at 65520). Failures are handled as in RunSwitch.
func RunNAT(ctx context.Context, cfg NATConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench nat: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	need := []string{"ip", "sysctl", cfg.Iperf, cfg.Binary}
	if slices.Contains(cfg.Topologies, TopologySlirp) {
		need = append(need, cfg.Slirp4netns)
	}
	notes := natNotes(!cfg.NoReverse)
	if slices.Contains(cfg.Topologies, TopologySlirp) {
		if v := slirpVersion(ctx, cfg.Slirp4netns); v != "" {
			notes = append(notes, "Versions: "+v+".")
		}
	}
	return runSuite(ctx, suite{
		report: Report{
			Benchmark: "nat", Title: "NAT benchmark", Reference: NATReference,
			BulkReverse: !cfg.NoReverse, TargetMTUs: natTargetMTUs(), Notes: notes,
		},
		outDir:      cfg.OutDir,
		mtus:        cfg.MTUs,
		topologies:  cfg.Topologies,
		need:        need,
		newTopology: cfg.newTopology,
		measure: MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration,
			RRIterations: cfg.RRIterations, Reverse: !cfg.NoReverse},
		// Every run's connections leave TIME_WAIT sockets between the
		// same two host addresses; a fresh server port per run keeps
		// them from using up the next run's ephemeral ports.
		distinctPorts: true,
		evaluate:      (*Report).EvaluateNATTargets,
	}, log)
}

// natTargetMTUs are the MTUs of natTargets.
func natTargetMTUs() []int {
	mtus := make([]int, len(natTargets))
	for i, t := range natTargets {
		mtus[i] = t.mtu
	}
	return mtus
}

// natNotes explains the NAT benchmark's set-up in the report.
func natNotes(reverse bool) []string {
	bulk := "Bulk is endpoint → server."
	if reverse {
		bulk = "Bulk is endpoint → server; bulk rev is server → endpoint (iperf3 -R)."
	}
	return []string{
		fmt.Sprintf("The client runs in an endpoint namespace; the servers (rr/crr echo, iperf3) run in a namespace "+
			"reachable only from the host, over a veth pair (host %s, server %s) at the benchmark's MTU, "+
			"so every connection crosses the NAT to host sockets.", NATRemoteHostIP, NATRemoteIP),
		fmt.Sprintf("%s: the endpoint is attached to a switchyard network (%s) whose gateway NATs it; "+
			"%s: `slirp4netns --configure --disable-host-loopback` on tap0 in the endpoint namespace.",
			TopologySwitchyardNAT, natSubnets[TopologySwitchyardNAT], TopologySlirp),
		bulk,
		"For comparison, slirp4netns was measured elsewhere at 0.37 Gb/s (MTU 1500) and 3–5 Gb/s (MTU 65520).",
	}
}

// slirpVersion returns slirp4netns's and libslirp's versions, "" when
// they cannot be read.
func slirpVersion(ctx context.Context, slirp string) string {
	out, err := runCmd(ctx, 10*time.Second, slirp, "--version")
	if err != nil {
		return ""
	}
	var parts []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "slirp4netns version ") || strings.HasPrefix(line, "libslirp: ") {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, ", ")
}

// EvaluateNATTargets checks the NAT targets: switchyard-nat bulk
// ≥ 5× slirp4netns at MTU 1500 and ≥ 1× at MTU 65520. A target whose MTU
// was not measured is left out; nil means none was.
func (rep *Report) EvaluateNATTargets() []Target {
	var targets []Target
	for _, nt := range natTargets {
		sy, sl := rep.Find(TopologySwitchyardNAT, nt.mtu), rep.Find(TopologySlirp, nt.mtu)
		if sy == nil && sl == nil {
			continue
		}
		var (
			v, ref     float64
			vok, refok bool
		)
		if sy != nil {
			v, vok = sy.BulkGbps()
		}
		if sl != nil {
			ref, refok = sl.BulkGbps()
		}
		targets = append(targets, atLeast(
			fmt.Sprintf("%s bulk ≥ %g× %s (MTU %d)", TopologySwitchyardNAT, nt.factor, TopologySlirp, nt.mtu),
			"Gb/s", TopologySwitchyardNAT, v, vok, ref, refok, TopologySlirp, nt.factor))
	}
	return targets
}

// The NAT topologies.
var (
	_ Topology = (*SwitchyardNATTopology)(nil)
	_ Topology = (*SlirpTopology)(nil)
)
