package bench

import (
	"fmt"
	"time"
)

// ReferenceTopology is the topology the others are compared against in
// the switch benchmark, and in any report whose Reference is empty.
const ReferenceTopology = "kernel-bridge"

// TargetMTU is the MTU at which the targets are checked.
const TargetMTU = 1500

// Report is the outcome of a benchmark run: one Row per topology and MTU.
type Report struct {
	// Benchmark names the benchmark ("switch", "nat"); it also names the
	// files WriteFiles writes ("" means "switch").
	Benchmark string `json:"benchmark"`
	// Title introduces the run conditions in the markdown and heads the
	// chart, e.g. "NAT benchmark"; "" means "Switch benchmark".
	Title string `json:"title,omitempty"`
	// Reference is the topology the ratios compare with; "" means
	// ReferenceTopology.
	Reference string    `json:"reference,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Host      HostInfo  `json:"host"`
	// DurationS is the length of each measurement run, in seconds.
	DurationS float64 `json:"duration_s"`
	// MessageSize is the rr/crr request and response size.
	MessageSize int `json:"message_size"`
	// MTUs are the MTUs measured, in order.
	MTUs []int `json:"mtus"`
	// Rows hold the figures, MTU by MTU, topology by topology.
	Rows []Row `json:"rows"`
	// BulkReverse says that the reverse bulk transfer (server to client,
	// Metrics.BulkRev) was measured: the table and chart then show it.
	BulkReverse bool `json:"bulk_reverse,omitempty"`
	// UDPRR says that UDP request/response latency (Metrics.UDPRR) was
	// measured: the table and chart then show it.
	UDPRR bool `json:"udp_rr,omitempty"`
	// Targets are the targets, evaluated at TargetMTUs.
	Targets []Target `json:"targets,omitempty"`
	// TargetMTUs are the MTUs the targets are checked at; empty means
	// TargetMTU.
	TargetMTUs []int `json:"target_mtus,omitempty"`
	// Memory is the proxy benchmark's memory comparison.
	Memory *ProxyMemory `json:"memory,omitempty"`
	// Caption, when set, introduces the rows' table in the markdown
	// (reports with a second table, such as PortForward).
	Caption string `json:"caption,omitempty"`
	// PortForward is the rootless benchmark's second table: traffic from
	// the host into a namespace through a port forward, with ratios
	// against its own reference.
	PortForward *PortForward `json:"port_forward,omitempty"`
	// Notes are sentences appended to the markdown report: how the
	// topologies were built, caveats, figures measured elsewhere.
	Notes []string `json:"notes,omitempty"`
}

// HostInfo describes the machine a report was taken on.
type HostInfo struct {
	Kernel    string `json:"kernel"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute averages at the start:
	// a busy machine makes the figures noisy.
	LoadAvg string `json:"load_avg"`
}

// Row holds one topology's measurements at one MTU. Errors lists what
// failed (setup or individual measurements).
type Row struct {
	Topology string `json:"topology"`
	MTU      int    `json:"mtu"`
	Metrics
	Ratios Ratios `json:"ratios"`
	// Capture describes the capture that ran during the measurement
	// (capture benchmark).
	Capture *CaptureRun `json:"capture,omitempty"`
}

// Ratios compare a Row with the reference topology at the same MTU; nil
// means a figure is missing on either side.
type Ratios struct {
	// Bulk is bulk throughput / reference bulk throughput (higher is better).
	Bulk *float64 `json:"bulk"`
	// BulkRev is the same for the reverse bulk transfer.
	BulkRev *float64 `json:"bulk_rev,omitempty"`
	// P50 is rr p50 latency / reference rr p50 (lower is better).
	P50 *float64 `json:"p50"`
	// ConnRate is conns per second / reference conns per second.
	ConnRate *float64 `json:"conn_rate"`
	// UDPP50 is UDP rr p50 latency / reference UDP rr p50 (lower is
	// better).
	UDPP50 *float64 `json:"udp_p50,omitempty"`
}

// Target is one of the performance targets, evaluated.
type Target struct {
	// Goal states the target, e.g. "switchyard bulk ≥ 0.5× kernel-bridge".
	Goal string `json:"goal"`
	// Status is "met", "not met" or "unknown" (a figure is missing).
	Status string `json:"status"`
	// Detail gives the figures behind Status.
	Detail string `json:"detail"`
}

// Target statuses.
const (
	TargetMet     = "met"
	TargetNotMet  = "not met"
	TargetUnknown = "unknown"
)

// BulkGbps returns the bulk throughput and whether it was measured.
func (r *Row) BulkGbps() (float64, bool) {
	if r.Bulk == nil {
		return 0, false
	}
	return r.Bulk.Gbps, true
}

// BulkRevGbps returns the reverse bulk throughput and whether it was
// measured.
func (r *Row) BulkRevGbps() (float64, bool) {
	if r.BulkRev == nil {
		return 0, false
	}
	return r.BulkRev.Gbps, true
}

// P50US returns the rr p50 latency and whether it was measured.
func (r *Row) P50US() (float64, bool) {
	if r.RR == nil {
		return 0, false
	}
	return r.RR.P50US, true
}

// P99US returns the rr p99 latency and whether it was measured.
func (r *Row) P99US() (float64, bool) {
	if r.RR == nil {
		return 0, false
	}
	return r.RR.P99US, true
}

// UDPP50US returns the UDP rr p50 latency and whether it was measured.
func (r *Row) UDPP50US() (float64, bool) {
	if r.UDPRR == nil {
		return 0, false
	}
	return r.UDPRR.P50US, true
}

// UDPP99US returns the UDP rr p99 latency and whether it was measured.
func (r *Row) UDPP99US() (float64, bool) {
	if r.UDPRR == nil {
		return 0, false
	}
	return r.UDPRR.P99US, true
}

// ConnsPerSec returns the crr rate and whether it was measured.
func (r *Row) ConnsPerSec() (float64, bool) {
	if r.CRR == nil {
		return 0, false
	}
	return r.CRR.ConnsPerSec, true
}

// Find returns the row of a topology at an MTU, or nil.
func (rep *Report) Find(topology string, mtu int) *Row {
	for i := range rep.Rows {
		if rep.Rows[i].Topology == topology && rep.Rows[i].MTU == mtu {
			return &rep.Rows[i]
		}
	}
	return nil
}

// ratio divides two optional figures.
func ratio(a float64, aok bool, b float64, bok bool) *float64 {
	if !aok || !bok || b == 0 {
		return nil
	}
	v := a / b
	return &v
}

// reference returns the topology the ratios compare with.
func (rep *Report) reference() string {
	if rep.Reference == "" {
		return ReferenceTopology
	}
	return rep.Reference
}

// targetMTUs returns the MTUs the targets are checked at.
func (rep *Report) targetMTUs() []int {
	if len(rep.TargetMTUs) == 0 {
		return []int{TargetMTU}
	}
	return rep.TargetMTUs
}

// ComputeRatios fills every Row's Ratios against the reference topology
// (Reference, else ReferenceTopology) at the same MTU, and those of the
// PortForward rows against PortForward.Reference.
func (rep *Report) ComputeRatios() {
	if rep.PortForward != nil {
		rep.PortForward.report().ComputeRatios()
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		ref := rep.Find(rep.reference(), r.MTU)
		if ref == nil {
			r.Ratios = Ratios{}
			continue
		}
		a, aok := r.BulkGbps()
		b, bok := ref.BulkGbps()
		r.Ratios.Bulk = ratio(a, aok, b, bok)
		a, aok = r.BulkRevGbps()
		b, bok = ref.BulkRevGbps()
		r.Ratios.BulkRev = ratio(a, aok, b, bok)
		a, aok = r.P50US()
		b, bok = ref.P50US()
		r.Ratios.P50 = ratio(a, aok, b, bok)
		a, aok = r.ConnsPerSec()
		b, bok = ref.ConnsPerSec()
		r.Ratios.ConnRate = ratio(a, aok, b, bok)
		a, aok = r.UDPP50US()
		b, bok = ref.UDPP50US()
		r.Ratios.UDPP50 = ratio(a, aok, b, bok)
	}
}

// EvaluateTargets checks the targets at TargetMTU: switchyard bulk
// ≥ 0.5× the kernel bridge and ≥ 10× vde_switch, and switchyard rr p50 ≤
// 2× the kernel bridge. It returns nil when TargetMTU was not measured.
func (rep *Report) EvaluateTargets() []Target {
	sy := rep.Find("switchyard", TargetMTU)
	br := rep.Find(ReferenceTopology, TargetMTU)
	vde := rep.Find("vde_switch", TargetMTU)
	if sy == nil && br == nil && vde == nil {
		return nil
	}
	get := func(r *Row, f func(*Row) (float64, bool)) (float64, bool) {
		if r == nil {
			return 0, false
		}
		return f(r)
	}
	syBulk, syBulkOK := get(sy, (*Row).BulkGbps)
	brBulk, brBulkOK := get(br, (*Row).BulkGbps)
	vdeBulk, vdeBulkOK := get(vde, (*Row).BulkGbps)
	syP50, syP50OK := get(sy, (*Row).P50US)
	brP50, brP50OK := get(br, (*Row).P50US)
	const name = "switchyard"
	return []Target{
		atLeast(fmt.Sprintf("switchyard bulk ≥ 0.5× kernel-bridge (MTU %d)", TargetMTU),
			"Gb/s", name, syBulk, syBulkOK, brBulk, brBulkOK, "kernel-bridge", 0.5),
		atLeast(fmt.Sprintf("switchyard bulk ≥ 10× vde_switch (MTU %d)", TargetMTU),
			"Gb/s", name, syBulk, syBulkOK, vdeBulk, vdeBulkOK, "vde_switch", 10),
		atMost(fmt.Sprintf("switchyard rr p50 ≤ 2× kernel-bridge (MTU %d)", TargetMTU),
			"µs", name, syP50, syP50OK, brP50, brP50OK, "kernel-bridge", 2),
	}
}

// atLeast evaluates v ≥ factor × ref; name and refName label the figures.
func atLeast(goal, unit, name string, v float64, vok bool, ref float64, refok bool, refName string, factor float64) Target {
	return compare(goal, unit, name, v, vok, ref, refok, refName, func(r float64) bool { return r >= factor })
}

// atMost evaluates v ≤ factor × ref.
func atMost(goal, unit, name string, v float64, vok bool, ref float64, refok bool, refName string, factor float64) Target {
	return compare(goal, unit, name, v, vok, ref, refok, refName, func(r float64) bool { return r <= factor })
}

// compare builds a Target from two optional figures (of topologies name
// and refName) and a test on their ratio.
func compare(goal, unit, name string, v float64, vok bool, ref float64, refok bool, refName string, ok func(float64) bool) Target {
	t := Target{Goal: goal, Status: TargetUnknown}
	switch {
	case !vok:
		t.Detail = "no " + name + " figure"
	case !refok || ref == 0:
		t.Detail = "no " + refName + " figure"
	default:
		r := v / ref
		t.Status = TargetNotMet
		if ok(r) {
			t.Status = TargetMet
		}
		t.Detail = fmt.Sprintf("%s %s %s vs %s %s %s = %s×",
			name, formatValue(v), unit, refName, formatValue(ref), unit, formatRatio(r))
	}
	return t
}
