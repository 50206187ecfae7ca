package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"
)

// The variants of the uplink benchmark, in the order they run.
const (
	UplinkSwitchyard = "switchyard uplink"
	UplinkMacvlan    = "kernel macvlan (bridge)"
)

// uplinkSubnet is the LAN of the uplink benchmark: .1 the router, .10 the
// switchyard endpoint, .11 the LAN host (the server), .12 the macvlan.
var uplinkSubnet = netip.MustParsePrefix("10.209.0.0/24")

// UplinkConfig configures RunUplink.
type UplinkConfig struct {
	// Binary is the switchyard binary (daemon, CLI, `bench peer`).
	Binary string
	// OutDir receives uplink.md, uplink.svg and uplink.json; "" means
	// "bench-out".
	OutDir string
	// Duration is the length of each bulk, rr and crr run; 0 means 5 s.
	Duration time.Duration
	// MTU of the LAN, the endpoint and the macvlan; 0 means 1500.
	MTU int
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// Iperf names the iperf3 program; "" means "iperf3".
	Iperf string
}

// RunUplink measures an endpoint ↔ LAN host path through a switchyard
// uplink network and through a kernel macvlan in bridge mode on the same
// parent (a veth whose peer is the LAN), in the same run: bulk (iperf3,
// both directions), 64-byte rr latency and crr rate. Ratios are against
// macvlan; the targets are bulk ≥ 0.5× and rr p50 ≤ 2×.
func RunUplink(ctx context.Context, cfg UplinkConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench uplink: %w", err)
	}
	c := common{name: "bench uplink", binary: cfg.Binary, outDir: &cfg.OutDir, dur: &cfg.Duration}
	if err := c.fillOne(&cfg.MTU, 9000); err != nil {
		return nil, err
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	sy, err := NewSwitchyardTopology(cfg.Binary, TopologyOptions{Subnet: uplinkSubnet, Log: log})
	if err != nil {
		return nil, fmt.Errorf("bench uplink: %w", err)
	}
	topo := &uplinkTopology{SwitchyardTopology: sy}
	return runVariants(ctx, variantSuite{
		report: Report{
			Benchmark: "uplink", Title: "Uplink benchmark", Reference: UplinkMacvlan, BulkReverse: true,
			TargetMTUs: []int{cfg.MTU}, Notes: uplinkNotes,
		},
		outDir:   cfg.OutDir,
		mtu:      cfg.MTU,
		need:     []string{"ip", "sysctl", cfg.Iperf, cfg.Binary},
		topology: topo,
		variants: []variant{
			// macvlan first, before the daemon exists: a promiscuous
			// socket on the parent would otherwise flood the macvlan's
			// frames to the endpoint and load the CPU during its run.
			{name: UplinkMacvlan, start: func(context.Context, Pair, int, *slog.Logger) (Pair, func(*Row), error) {
				return topo.mv, nil, nil
			}},
			{name: UplinkSwitchyard, start: func(ctx context.Context, _ Pair, _ int, _ *slog.Logger) (Pair, func(*Row), error) {
				p, err := topo.attach(ctx)
				return p, nil, err
			}},
		},
		measure: MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration,
			RRIterations: cfg.RRIterations, Reverse: true},
		evaluate: (*Report).EvaluateUplinkTargets,
	}, log)
}

var uplinkNotes = []string{
	"Both paths share one parent, a veth whose peer is the LAN namespace (router .1, server .11).",
	"switchyard: TAP (IFF_VNET_HDR) → switch → AF_PACKET socket on the parent with PACKET_VNET_HDR; " +
		"TSO super-frames cross whole and the kernel segments them on the veth, as for macvlan.",
	"macvlan inherits the veth's offloads (TSO, GSO, checksum); both paths keep super-frames, " +
		"so the offloads match. One run each, no repeats: read small differences as noise.",
	"macvlan runs first, before the daemon starts, so switchyard's promiscuous socket does not see its traffic.",
}

// uplinkTopology is the LAN, the parent and both attachments: a switchyard
// daemon with an uplink network on the parent and a macvlan on it.
type uplinkTopology struct {
	*SwitchyardTopology
	parent string
	sy, mv Pair
}

// Setup implements Topology.
func (t *uplinkTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	ns, err := t.newNetnses(ctx, "lan", "ep", "mv")
	if err != nil {
		return Pair{}, err
	}
	lan, ep, mv := ns[0], ns[1], ns[2]
	var b [3]byte
	rand.Read(b[:])
	parent := "sybu" + hex.EncodeToString(b[:])
	bits := "/" + strconv.Itoa(t.subnet.Bits())
	steps := [][]string{
		{"ip", "link", "add", parent, "mtu", strconv.Itoa(mtu), "type", "veth", "peer", "name", "eth0", "mtu", strconv.Itoa(mtu), "netns", lan},
		{"ip", "link", "set", parent, "up"},
		inNetns(lan, "ip", "addr", "add", t.host(1).String()+bits, "dev", "eth0"),
		inNetns(lan, "ip", "addr", "add", t.host(11).String()+bits, "dev", "eth0"),
		inNetns(lan, "ip", "link", "set", "eth0", "up"),
		{"ip", "link", "add", "link", parent, "name", parent + "m", "type", "macvlan", "mode", "bridge"},
		{"ip", "link", "set", parent + "m", "netns", mv, "name", "eth0"},
		inNetns(mv, "ip", "addr", "add", t.host(12).String()+bits, "dev", "eth0"),
		inNetns(mv, "ip", "link", "set", "eth0", "up"),
	}
	for i, argv := range steps {
		if _, err := runCmd(ctx, 30*time.Second, argv...); err != nil {
			return Pair{}, fmt.Errorf("uplink topology: %w", err)
		}
		if i == 0 {
			t.onTeardown(func() { _, _ = runCmd(context.Background(), 30*time.Second, "ip", "link", "del", parent) })
		}
	}
	t.parent = parent
	t.sy = Pair{Client: Endpoint{Netns: ep, IP: t.host(10)}, Server: Endpoint{Netns: lan, IP: t.host(11)}, MTU: mtu}
	t.mv = Pair{Client: Endpoint{Netns: mv, IP: t.host(12)}, Server: t.sy.Server, MTU: mtu}
	if err := waitAddr(ctx, t.mv.Client, "eth0", dynamicTimeout); err != nil {
		return Pair{}, err
	}
	if err := prepareClient(ctx, mv); err != nil {
		return Pair{}, err
	}
	return t.mv, nil
}

// attach starts the daemon, creates the uplink network on the parent and
// attaches the endpoint; it returns the endpoint ↔ LAN host pair.
func (t *uplinkTopology) attach(ctx context.Context) (Pair, error) {
	if _, err := t.startDaemon(ctx); err != nil {
		return Pair{}, err
	}
	mtu := strconv.Itoa(t.sy.MTU)
	if err := t.cli(ctx, "network", "create", "bench", "--driver", "uplink", "--parent", t.parent,
		"--subnet", t.subnet.String(), "--gateway", t.host(1).String(), "--mtu", mtu); err != nil {
		return Pair{}, err
	}
	if err := t.cli(ctx, "attach", "bench", t.sy.Client.Netns, "--name", "ep", "--ip", t.host(10).String(), "--mtu", mtu); err != nil {
		return Pair{}, err
	}
	if err := waitAddr(ctx, t.sy.Client, "eth0", dynamicTimeout); err != nil {
		return Pair{}, err
	}
	return t.sy, prepareClient(ctx, t.sy.Client.Netns)
}

// Name implements Topology.
func (t *uplinkTopology) Name() string { return "uplink" }

// EvaluateUplinkTargets checks the targets at the report's MTU:
// switchyard bulk ≥ 0.5× macvlan and rr p50 ≤ 2× macvlan.
func (rep *Report) EvaluateUplinkTargets() []Target {
	mtu := rep.targetMTUs()[0]
	ref, r := rep.Find(UplinkMacvlan, mtu), rep.Find(UplinkSwitchyard, mtu)
	if ref == nil && r == nil {
		return nil
	}
	var row Row
	if r == nil {
		r = &row
	}
	if ref == nil {
		ref = &row
	}
	v, ok := r.BulkGbps()
	refV, refOK := ref.BulkGbps()
	p, pok := r.P50US()
	refP, refPOK := ref.P50US()
	return []Target{
		atLeast(fmt.Sprintf("%s bulk ≥ 0.5× %s (MTU %d)", UplinkSwitchyard, UplinkMacvlan, mtu), "Gb/s",
			UplinkSwitchyard, v, ok, refV, refOK, UplinkMacvlan, 0.5),
		atMost(fmt.Sprintf("%s rr p50 ≤ 2× %s (MTU %d)", UplinkSwitchyard, UplinkMacvlan, mtu), "µs",
			UplinkSwitchyard, p, pok, refP, refPOK, UplinkMacvlan, 2),
	}
}
