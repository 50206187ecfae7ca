package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// The variants of the proxy benchmark (ways of reaching a published
// port), in the order they run.
const (
	// ProxyUserspace is switchyard's userspace proxy (publish --path
	// userspace): host sockets, relayed through the network's gateway
	// netstack.
	ProxyUserspace = "switchyard-userspace"
	// ProxyKernel is switchyard's kernel path (publish --path kernel):
	// nftables DNAT to the endpoint through the network's host port. For
	// a switchyard endpoint this is "kernel DNAT alone".
	ProxyKernel = "switchyard-kernel"
	// ProxyDocker is Debian's docker-proxy, one process per port,
	// dialing the endpoint from the host through the host port.
	ProxyDocker = "docker-proxy"
	// ProxyKernelVeth is kernel DNAT to a server namespace on a veth
	// pair: no switchyard at all, the kernel's floor.
	ProxyKernelVeth = "kernel-dnat-veth"
)

// ProxyReference is the variant the proxy benchmark compares with.
const ProxyReference = ProxyDocker

// DefaultDockerProxy is where Debian's docker.io package installs
// docker-proxy.
const DefaultDockerProxy = "/usr/sbin/docker-proxy"

// Addresses of the proxy benchmark. The client namespace reaches the host
// over a veth pair (ProxyClientPrefix) and dials ProxyHostIP:HOSTPORT;
// the server is a switchyard endpoint (proxySubnet), or for
// ProxyKernelVeth a namespace on a second veth pair (ProxyDirectPrefix).
var (
	ProxyClientPrefix = netip.MustParsePrefix("10.211.0.0/30")
	ProxyHostIP       = netip.MustParseAddr("10.211.0.1")
	ProxyClientIP     = netip.MustParseAddr("10.211.0.2")
	ProxyDirectPrefix = netip.MustParsePrefix("10.212.0.0/30")
	proxyDirectHostIP = netip.MustParseAddr("10.212.0.1")
	proxyDirectIP     = netip.MustParseAddr("10.212.0.2")
	proxySubnet       = netip.MustParsePrefix("10.210.0.0/24")
)

// proxyNetwork is the network the proxy benchmark creates; proxyEndpoint
// names its server endpoint.
const (
	proxyNetwork  = "proxybench"
	proxyEndpoint = "server"
)

// Host ports: variant i publishes the rr/crr, UDP and iperf3 ports on
// proxyHostPortBase + 100×i + 1, 2 and 3, so that no variant meets the
// TIME_WAIT connections or conntrack entries of another.
const proxyHostPortBase = 20000

// memoryPortBase is the first host (and endpoint) port of the memory
// measurement's mappings when they are all free. It is inside Linux's
// default ephemeral range (32768-60999), where other programs'
// connections, TIME_WAIT ones included, may hold ports; memoryPortBases
// are the bases tried in order, the others outside that range.
const memoryPortBase = 40000

var memoryPortBases = []int{memoryPortBase, 61000, 62000, 63000, 64000, 22000, 24000, 26000, 28000, 30000}

// proxyTargets are the traffic targets: switchyard-userspace
// against docker-proxy, in the same run.
var proxyTargets = []struct {
	what   string
	unit   string
	value  func(*Row) (float64, bool)
	factor float64
	atMost bool
}{
	{"bulk", "Gb/s", (*Row).BulkGbps, 1.0, false},
	{"conn/s", "conn/s", (*Row).ConnsPerSec, 1.5, false},
	{"UDP rr p50", "µs", (*Row).UDPP50US, 0.7, true},
}

// proxyMemoryFactor is the memory target: switchyard's PSS with N
// mappings at most this share of N docker-proxy processes' PSS.
const proxyMemoryFactor = 0.1

// ProxyConfig configures RunProxy.
type ProxyConfig struct {
	// Binary is the switchyard binary: it runs the daemon, the CLI and the
	// `bench peer` subcommands. Required.
	Binary string
	// OutDir receives proxy.md, proxy.svg and proxy.json; "" means
	// "bench-out".
	OutDir string
	// Duration is the length of each bulk, rr, crr and UDP rr run; 0
	// means 5 s.
	Duration time.Duration
	// MTU of the network, the endpoint and the veth pairs; 0 means 1500.
	MTU int
	// Mappings is the number of port mappings of the memory measurement;
	// 0 means 1000, negative skips it.
	Mappings int
	// StartLimit bounds the start of the docker-proxy processes of the
	// memory measurement: after that long no more are started and the
	// total is extrapolated from those running. 0 means 60 s.
	StartLimit time.Duration
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// DockerProxy, Iperf and Nft name the programs; "" means
	// DefaultDockerProxy, "iperf3" and "nft".
	DockerProxy string
	Iperf       string
	Nft         string
}

// withDefaults validates cfg and fills in defaults.
func (cfg ProxyConfig) withDefaults() (ProxyConfig, error) {
	c := common{name: "bench proxy", binary: cfg.Binary, outDir: &cfg.OutDir, dur: &cfg.Duration}
	if err := c.fillOne(&cfg.MTU, 65000); err != nil {
		return cfg, err
	}
	if cfg.Mappings == 0 {
		cfg.Mappings = 1000
	}
	if cfg.Mappings > 65535-memoryPortBase+1 {
		return cfg, fmt.Errorf("bench proxy: at most %d mappings (ports %d-65535)", 65535-memoryPortBase+1, memoryPortBase)
	}
	if cfg.StartLimit <= 0 {
		cfg.StartLimit = 60 * time.Second
	}
	if cfg.DockerProxy == "" {
		cfg.DockerProxy = DefaultDockerProxy
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	if cfg.Nft == "" {
		cfg.Nft = "nft"
	}
	return cfg, nil
}

// RunProxy measures a published port from an external client namespace
// four ways in the same run: switchyard's userspace path, switchyard's
// kernel path, docker-proxy (Debian's docker.io) and kernel DNAT to a
// veth namespace. Each way gets TCP bulk (iperf3), 64-byte TCP rr
// latency, crr rate and 64-byte UDP rr latency. It then compares the PSS
// of the switchyard daemon with cfg.Mappings published ports with the
// summed PSS of as many docker-proxy processes. It writes proxy.md,
// proxy.svg and proxy.json to cfg.OutDir and returns the report, with
// ratios against docker-proxy and the targets. Failures are
// handled as in RunSwitch.
func RunProxy(ctx context.Context, cfg ProxyConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench proxy: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	topo, err := NewProxyTopology(cfg.Binary, cfg.Nft, TopologyOptions{Subnet: proxySubnet, Log: log})
	if err != nil {
		return nil, fmt.Errorf("bench proxy: %w", err)
	}
	notes := proxyNotes()
	if v := dockerProxyVersion(ctx); v != "" {
		notes = append(notes, "docker-proxy: Debian docker.io "+v+".")
	}
	pb := &proxyBench{topo: topo, cfg: cfg}
	s := variantSuite{
		report: Report{
			Benchmark: "proxy", Title: "Proxy benchmark", Reference: ProxyReference, UDPRR: true,
			TargetMTUs: []int{cfg.MTU}, Notes: notes,
		},
		outDir:   cfg.OutDir,
		mtu:      cfg.MTU,
		need:     []string{"ip", "sysctl", cfg.Iperf, cfg.Nft, cfg.Binary, cfg.DockerProxy},
		topology: topo,
		variants: []variant{
			pb.publishVariant(ProxyUserspace, "userspace"),
			pb.publishVariant(ProxyKernel, "kernel"),
			pb.dockerProxyVariant(),
			pb.vethVariant(),
		},
		measure: MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration,
			RRIterations: cfg.RRIterations, UDP: true},
		evaluate: (*Report).EvaluateProxyTargets,
	}
	if cfg.Mappings > 0 {
		s.before = pb.measureMemory
		s.after = pb.memoryAfterTraffic
	}
	rep, err := runVariants(ctx, s, log)
	if err != nil && rep == nil && strings.Contains(err.Error(), cfg.DockerProxy) {
		err = fmt.Errorf("%w (docker-proxy comes with Debian's docker.io package)", err)
	}
	return rep, err
}

// dockerProxyVersion returns the installed docker.io package's version,
// "" when it cannot be read.
func dockerProxyVersion(ctx context.Context) string {
	out, err := runCmd(ctx, 10*time.Second, "dpkg-query", "-W", "-f", "${Version}", "docker.io")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// proxyNotes explains the proxy benchmark's set-up in the report.
func proxyNotes() []string {
	return []string{
		fmt.Sprintf("The client runs in a namespace joined to the host by a veth pair (host %s, client %s) and dials "+
			"%s:HOSTPORT; the servers (rr/crr echo, iperf3, UDP echo) run in a namespace attached to a switchyard "+
			"network (%s) as endpoint %q. Every variant publishes the same three server ports on host ports of its own.",
			ProxyHostIP, ProxyClientIP, ProxyHostIP, proxySubnet, proxyEndpoint),
		fmt.Sprintf("%s: `switchyard publish --path userspace` (host sockets relayed through the gateway netstack); "+
			"%s: `--path kernel` (nftables DNAT through the network's host port; this is \"kernel DNAT alone\" for a "+
			"switchyard endpoint: a hand-made DNAT rule would take the same path); %s: one `docker-proxy -proto tcp|udp` "+
			"process per port (fd 3 a pipe), dialing the endpoint from the host through switchyard's host port; "+
			"%s: an nftables DNAT rule to a server namespace on a second veth pair (%s), without switchyard: the kernel's floor.",
			ProxyUserspace, ProxyKernel, ProxyDocker, ProxyKernelVeth, ProxyDirectPrefix),
		"UDP rr: 64-byte datagrams, one at a time, each awaited for up to 500 ms.",
		"Memory is PSS (/proc/PID/smaps_rollup), measured before the traffic runs: the switchyard daemon with the " +
			"mappings published (--path userspace) against the sum over one docker-proxy process per mapping.",
	}
}

// EvaluateProxyTargets checks the proxy targets at the report's
// MTU — switchyard-userspace bulk ≥ 1× docker-proxy, conn/s ≥ 1.5×, UDP
// rr p50 ≤ 0.7× — and, when memory was measured, switchyard's PSS with
// the mappings ≤ 1/10 of the docker-proxy processes' total. It returns
// nil when none of these was measured.
func (rep *Report) EvaluateProxyTargets() []Target {
	mtu := rep.targetMTUs()[0]
	us, dp := rep.Find(ProxyUserspace, mtu), rep.Find(ProxyDocker, mtu)
	var targets []Target
	if us != nil || dp != nil {
		for _, pt := range proxyTargets {
			var v, ref float64
			var vok, refok bool
			if us != nil {
				v, vok = pt.value(us)
			}
			if dp != nil {
				ref, refok = pt.value(dp)
			}
			op, eval := "≥", atLeast
			if pt.atMost {
				op, eval = "≤", atMost
			}
			targets = append(targets, eval(fmt.Sprintf("%s %s %s %g× %s (MTU %d)", ProxyUserspace, pt.what, op, pt.factor, ProxyDocker, mtu),
				pt.unit, ProxyUserspace, v, vok, ref, refok, ProxyDocker, pt.factor))
		}
	}
	if m := rep.Memory; m != nil {
		sy, syok := m.SwitchyardMiB()
		dp, dpok := m.DockerProxyMiB()
		targets = append(targets, atMost(fmt.Sprintf("switchyard PSS with %d mappings ≤ 1/10 of %d docker-proxy processes", m.Mappings, m.Mappings),
			"MiB", "switchyard", sy, syok, dp, dpok, ProxyDocker, proxyMemoryFactor))
	}
	return targets
}
