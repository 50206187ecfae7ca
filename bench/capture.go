package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The variants of the capture benchmark, in the order they run.
const (
	CaptureNone   = "no capture"
	CaptureFile   = "capture to file"
	CaptureFilter = "filter matching nothing"
)

// CaptureReference is the variant the capture benchmark compares with.
const CaptureReference = CaptureNone

// CaptureNoMatchFilter is the default filter of the CaptureFilter
// variant: a documentation address (TEST-NET-1) no benchmark traffic
// uses, so that the filter runs on every frame and matches none.
const CaptureNoMatchFilter = "host 192.0.2.99"

// captureSubnet is the endpoint subnet of the capture benchmark.
var captureSubnet = netip.MustParsePrefix("10.208.0.0/24")

// captureNetwork is the network SwitchyardTopology creates and the
// capture watches.
const captureNetwork = "bench"

// captureTargets are the targets: bulk with the variant running
// at least factor × bulk without a capture, in the same run.
var captureTargets = []struct {
	variant string
	factor  float64
}{{CaptureFile, 0.5}, {CaptureFilter, 0.9}}

// captureSettle is how long a capture process is given to reach the
// daemon and register its session before the measurement starts (the
// CLI prints nothing until it ends).
const captureSettle = time.Second

// CaptureConfig configures RunCapture.
type CaptureConfig struct {
	// Binary is the switchyard binary: it runs the daemon, the captures
	// and the `bench peer` subcommands. Required.
	Binary string
	// OutDir receives capture.md, capture.svg and capture.json; ""
	// means "bench-out".
	OutDir string
	// Duration is the length of each bulk, rr and crr run; 0 means 5 s.
	Duration time.Duration
	// MTU of the network and endpoints; 0 means 1500.
	MTU int
	// RRIterations, when positive, also bounds rr runs by count.
	RRIterations int
	// Filter is the filter of the CaptureFilter variant; "" means
	// CaptureNoMatchFilter. It should match none of the benchmark's
	// traffic.
	Filter string
	// TempDir holds the capture files while they are written (each is
	// removed after its measurement); "" means the system's.
	TempDir string
	// Iperf names the iperf3 program; "" means "iperf3".
	Iperf string
}

// withDefaults validates cfg and fills in defaults.
func (cfg CaptureConfig) withDefaults() (CaptureConfig, error) {
	c := common{name: "bench capture", binary: cfg.Binary, outDir: &cfg.OutDir, dur: &cfg.Duration}
	if err := c.fillOne(&cfg.MTU, 65000); err != nil {
		return cfg, err
	}
	if cfg.Filter == "" {
		cfg.Filter = CaptureNoMatchFilter
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	return cfg, nil
}

// CaptureRun is what a capture process did during one measurement.
type CaptureRun struct {
	// Filter is the capture's filter, "" for none.
	Filter string `json:"filter,omitempty"`
	// Captured and Dropped are the CLI's closing "N packets captured" and
	// "M packets dropped by switchyard" figures.
	Captured uint64 `json:"captured"`
	Dropped  uint64 `json:"dropped"`
	// FileBytes is the size of the pcapng file written.
	FileBytes int64 `json:"file_bytes"`
	// CPUSeconds is the capture process's user + system CPU time.
	CPUSeconds float64 `json:"cpu_s"`
}

// DroppedPct is the share of the session's frames that the daemon
// dropped, in percent, and whether there were any frames.
func (c *CaptureRun) DroppedPct() (float64, bool) {
	total := c.Captured + c.Dropped
	if total == 0 {
		return 0, false
	}
	return 100 * float64(c.Dropped) / float64(total), true
}

// RunCapture measures switch throughput between two namespaces attached
// to one switchyard daemon (the switch benchmark's switchyard topology),
// three ways in the same run on the same daemon: with no capture, while
// `switchyard capture -w FILE` records every port of the network, and
// while a capture with a filter that matches nothing runs. Each way gets
// TCP bulk (iperf3), 64-byte rr latency and crr rate. It writes
// capture.md, capture.svg and capture.json to cfg.OutDir and returns the
// report, with ratios against no capture and the targets (bulk
// ≥ 0.5× with a capture to a file, ≥ 0.9× with a non-matching filter).
// Failures are handled as in RunSwitch.
func RunCapture(ctx context.Context, cfg CaptureConfig, log *slog.Logger) (*Report, error) {
	if err := checkPlatform(); err != nil {
		return nil, fmt.Errorf("bench capture: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	topo, err := NewSwitchyardTopology(cfg.Binary, TopologyOptions{Subnet: captureSubnet, Log: log})
	if err != nil {
		return nil, fmt.Errorf("bench capture: %w", err)
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "sybench-capture-")
	if err != nil {
		return nil, fmt.Errorf("bench capture: %w", err)
	}
	defer os.RemoveAll(dir)
	cb := &captureBench{topo: topo, dir: dir}
	return runVariants(ctx, variantSuite{
		report: Report{
			Benchmark: "capture", Title: "Capture benchmark", Reference: CaptureReference,
			TargetMTUs: []int{cfg.MTU}, Notes: captureNotes(cfg.Filter),
		},
		outDir:   cfg.OutDir,
		mtu:      cfg.MTU,
		need:     []string{"ip", "sysctl", cfg.Iperf, cfg.Binary},
		topology: topo,
		variants: []variant{
			{name: CaptureNone, start: func(_ context.Context, shared Pair, _ int, _ *slog.Logger) (Pair, func(*Row), error) {
				return shared, nil, nil
			}},
			cb.variant(CaptureFile, ""),
			cb.variant(CaptureFilter, cfg.Filter),
		},
		measure: MeasureConfig{Binary: cfg.Binary, Iperf: cfg.Iperf, Duration: cfg.Duration,
			RRIterations: cfg.RRIterations},
		evaluate: (*Report).EvaluateCaptureTargets,
	}, log)
}

// captureBench starts and stops the captures of the capture benchmark.
type captureBench struct {
	topo *SwitchyardTopology
	dir  string
}

// captureArgv is the command line of a capture of every port of network
// to file, with filter unless it is "".
func captureArgv(binary, network, sock, file, filter string) []string {
	argv := []string{binary, "capture", network, "--socket", sock, "-w", file}
	if filter != "" {
		argv = append(argv, "-f", filter)
	}
	return argv
}

// variant returns a variant that runs a capture to a file, with filter
// unless it is "", during the measurement.
func (cb *captureBench) variant(name, filter string) variant {
	return variant{name: name, start: func(ctx context.Context, shared Pair, port int, log *slog.Logger) (Pair, func(*Row), error) {
		file := filepath.Join(cb.dir, "capture-"+strconv.Itoa(port)+".pcapng")
		p, err := startProc(log, procSpec{
			Label: "capture",
			Argv:  captureArgv(cb.topo.binary, captureNetwork, cb.topo.sock, file, filter),
		})
		if err != nil {
			return Pair{}, nil, err
		}
		select {
		case <-p.done:
			os.Remove(file)
			return Pair{}, nil, fmt.Errorf("capture exited at once: %v: %s", p.err, oneLine(p.output()))
		case <-ctx.Done():
			p.stop(log, syscall.SIGINT, 10*time.Second)
			os.Remove(file)
			return Pair{}, nil, ctx.Err()
		case <-time.After(captureSettle):
		}
		stop := func(row *Row) {
			early := p.exited()
			p.stop(log, syscall.SIGINT, 10*time.Second)
			run := &CaptureRun{Filter: filter}
			if st, err := os.Stat(file); err == nil {
				run.FileBytes = st.Size()
			}
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				log.Warn("capture file", "err", err)
			}
			if !p.exited() {
				row.Errors = append(row.Errors, "capture: did not exit after SIGINT")
				row.Capture = run
				return
			}
			if ps := p.cmd.ProcessState; ps != nil {
				run.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
			}
			switch {
			case early:
				row.Errors = append(row.Errors, fmt.Sprintf("capture: exited during the measurement: %v: %s", p.err, oneLine(p.output())))
			case p.err != nil:
				row.Errors = append(row.Errors, fmt.Sprintf("capture: %v: %s", p.err, oneLine(p.output())))
			}
			if c, d, ok := parseCaptureSummary(p.stderr.String()); ok {
				run.Captured, run.Dropped = c, d
			} else {
				row.Errors = append(row.Errors, "capture: no packet counts in its output: "+tail(oneLine(p.output()), 300))
			}
			log.Info("capture stopped", "captured", run.Captured, "dropped", run.Dropped, "file_bytes", run.FileBytes,
				"cpu_s", run.CPUSeconds)
			row.Capture = run
		}
		return shared, stop, nil
	}}
}

// captureCountRE matches the closing lines of `switchyard capture`.
var captureCountRE = regexp.MustCompile(`(?m)^(\d+) packets (captured|dropped by switchyard)\s*$`)

// parseCaptureSummary reads the "N packets captured" and "M packets
// dropped by switchyard" lines a capture prints on stderr when it ends;
// ok is false unless both are there. The last of each counts.
func parseCaptureSummary(stderr string) (captured, dropped uint64, ok bool) {
	var gotC, gotD bool
	for _, m := range captureCountRE.FindAllStringSubmatch(stderr, -1) {
		n, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			continue
		}
		if m[2] == "captured" {
			captured, gotC = n, true
		} else {
			dropped, gotD = n, true
		}
	}
	return captured, dropped, gotC && gotD
}

// captureNotes explains the capture benchmark's set-up in the report.
func captureNotes(filter string) []string {
	return []string{
		fmt.Sprintf("Two namespaces attached to one switchyard network (%s), as in bench switch; the three variants "+
			"run one after the other on the same daemon and namespaces.", captureSubnet),
		fmt.Sprintf("%s: `switchyard capture %s -w FILE` (every port of the network, pcapng to a temporary file, "+
			"removed afterwards); %s: the same with `-f '%s'`. Each capture starts %s before the rr, crr and bulk "+
			"measurements and is stopped with SIGINT after them.",
			CaptureFile, captureNetwork, CaptureFilter, filter, captureSettle),
		"Captured and dropped are the counts the capture CLI prints when it stops; an interrupted capture misses " +
			"the daemon's final counters, so its drops are those of the last periodic update (every second).",
	}
}

// EvaluateCaptureTargets checks the capture targets at the
// report's MTU: bulk with a capture to a file ≥ 0.5× bulk with no
// capture, and with a non-matching filter ≥ 0.9×. It returns nil when
// nothing was measured at that MTU.
func (rep *Report) EvaluateCaptureTargets() []Target {
	mtu := rep.targetMTUs()[0]
	ref := rep.Find(CaptureReference, mtu)
	var refV float64
	var refOK bool
	if ref != nil {
		refV, refOK = ref.BulkGbps()
	}
	var targets []Target
	for _, ct := range captureTargets {
		r := rep.Find(ct.variant, mtu)
		if r == nil && ref == nil {
			continue
		}
		var v float64
		var ok bool
		if r != nil {
			v, ok = r.BulkGbps()
		}
		targets = append(targets, atLeast(
			fmt.Sprintf("%s bulk ≥ %g× %s (MTU %d)", ct.variant, ct.factor, CaptureReference, mtu),
			"Gb/s", ct.variant, v, ok, refV, refOK, CaptureReference, ct.factor))
	}
	return targets
}

// captureTable returns the markdown table of the capture sessions, ""
// when no row ran one.
func (rep *Report) captureTable() string {
	var b strings.Builder
	for i := range rep.Rows {
		r := &rep.Rows[i]
		c := r.Capture
		if c == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("| capture | filter | packets captured | dropped by switchyard | dropped % | file MB | capture CPU s |\n")
			b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
		}
		filter := "—"
		if c.Filter != "" {
			filter = "`" + c.Filter + "`"
		}
		pct, ok := c.DroppedPct()
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s |\n", escapeCell(r.Topology), escapeCell(filter),
			c.Captured, c.Dropped, cell(pct, ok), formatValue(float64(c.FileBytes)/1e6), formatValue(c.CPUSeconds))
	}
	return b.String()
}
