package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// OverlayReference is the topology the overlay benchmark compares with.
const OverlayReference = TopologyKernelVXLAN

// OverlayConfig configures RunOverlay.
type OverlayConfig struct {
	// Binary is the switchyard binary (daemons and `bench peer`). Required.
	Binary string
	// OutDir receives overlay.md, overlay.svg and overlay.json.
	OutDir string
	// Duration is the length of each bulk, rr and crr run (5 s).
	Duration time.Duration
	// MTUs are underlay MTUs (1500); endpoints get 50 bytes less.
	MTUs []int
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// Iperf names the iperf3 program ("iperf3").
	Iperf string
	// Repeat measures each topology that many times, alternating them,
	// and reports medians (1: once).
	Repeat int
}

// overlaySubnets are the endpoint subnets of the two topologies.
var overlaySubnets = map[string]netip.Prefix{
	TopologyOverlay:     netip.MustParsePrefix("10.212.1.0/24"),
	TopologyKernelVXLAN: netip.MustParsePrefix("10.212.2.0/24"),
}

// RunOverlay measures TCP bulk, rr and connect rate between endpoints on
// two hosts (namespaces on one underlay bridge) through switchyard's
// overlay and through two Linux vxlan devices, in the same run, and
// writes overlay.md, overlay.svg and overlay.json.
func RunOverlay(ctx context.Context, cfg OverlayConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench overlay: %w", err)
	}
	c := common{"bench overlay", cfg.Binary, &cfg.OutDir, &cfg.Duration, &cfg.MTUs}
	if err := c.fill([]int{1500}, 9000); err != nil {
		return nil, err
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	newTopology := func(name string, log *slog.Logger) (Topology, error) {
		opts := TopologyOptions{Subnet: overlaySubnets[name], Log: log}
		if name == TopologyOverlay {
			return NewOverlayTopology(cfg.Binary, opts)
		}
		return NewKernelVXLANTopology(opts)
	}
	return runSuite(ctx, suite{
		report: Report{Benchmark: "overlay", Title: "Overlay benchmark (two hosts, VXLAN over a 1500-byte underlay)",
			Reference: OverlayReference, TargetMTUs: cfg.MTUs[:1],
			Notes: []string{"MTU is the underlay's; endpoints use 50 bytes less. Both paths run VNI 4242 on UDP 4789 between two host namespaces on one Linux bridge; the kernel path is bridge + vxlan (nolearning, static all-zeros FDB) + veth per host, as flannel and Docker wire it. The kernel vxlan device uses the veth's offloads (GSO through the tunnel); switchyard keeps TSO super-frames from its TAPs whole up to the tunnel, segments each once into VXLAN datagrams sent as UDP GSO batches (UDP_SEGMENT), and receives with UDP_GRO, coalescing the segments back into a super-frame for the TAP: the offloads match, done in userspace."}},
		outDir:      cfg.OutDir,
		mtus:        cfg.MTUs,
		topologies:  []string{TopologyOverlay, TopologyKernelVXLAN},
		need:        []string{"ip", "bridge", "sysctl", cfg.Iperf, cfg.Binary},
		newTopology: newTopology,
		measure:     MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration, RRIterations: cfg.RRIterations},
		evaluate:    (*Report).evaluateOverlay,
		repeat:      cfg.Repeat,
	}, log)
}

// evaluateOverlay computes the overlay targets: bulk ≥ 0.5× kernel vxlan,
// rr p50 ≤ 2×.
func (rep *Report) evaluateOverlay() []Target {
	if len(rep.TargetMTUs) == 0 {
		return nil
	}
	mtu := rep.TargetMTUs[0]
	sy, kv := rep.Find(TopologyOverlay, mtu), rep.Find(TopologyKernelVXLAN, mtu)
	get := func(r *Row, f func(*Row) (float64, bool)) (float64, bool) {
		if r == nil {
			return 0, false
		}
		return f(r)
	}
	syBulk, syBulkOK := get(sy, (*Row).BulkGbps)
	kvBulk, kvBulkOK := get(kv, (*Row).BulkGbps)
	syP50, syP50OK := get(sy, (*Row).P50US)
	kvP50, kvP50OK := get(kv, (*Row).P50US)
	return []Target{
		atLeast(fmt.Sprintf("overlay bulk ≥ 0.5× kernel vxlan (MTU %d)", mtu), "Gb/s", TopologyOverlay,
			syBulk, syBulkOK, kvBulk, kvBulkOK, TopologyKernelVXLAN, 0.5),
		atMost(fmt.Sprintf("overlay rr p50 ≤ 2× kernel vxlan (MTU %d)", mtu), "µs", TopologyOverlay,
			syP50, syP50OK, kvP50, kvP50OK, TopologyKernelVXLAN, 2),
	}
}
