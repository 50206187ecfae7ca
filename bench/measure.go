package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// rrPort is the port the rr/crr echo server listens on.
const rrPort = 7001

// udpPortOffset puts the UDP echo server at the rr port + 100.
const udpPortOffset = 100

// frameOverhead is IPv4 + TCP (with timestamps) header bytes per segment.
const frameOverhead = 20 + 32

// MeasureConfig says how to measure a Pair.
type MeasureConfig struct {
	// Binary is a program with the hidden `bench peer` subcommands
	// (the switchyard binary).
	Binary string
	// Iperf is the iperf3 program; "" means "iperf3".
	Iperf string
	// Duration is the length of each bulk, rr and crr run.
	Duration time.Duration
	// RRIterations, when positive, bounds the rr run by count as well.
	RRIterations int
	// Size is the rr/crr message size; 0 means DefaultMessageSize.
	Size int
	// Port is the rr/crr server's port; 0 means 7001. Runs that share a
	// host-side address pair (through a NAT) take distinct ports, so that
	// one run's TIME_WAIT connections do not use up the next run's
	// ephemeral ports.
	Port int
	// Reverse also measures bulk from server to client (iperf3 -R) into
	// Metrics.BulkRev.
	Reverse bool
	// UDP also measures UDP request/response latency (Size-byte
	// datagrams, echo server on Port+100) into Metrics.UDPRR.
	UDP bool
	// UDPTimeout is how long a UDP answer is awaited before the datagram
	// counts as lost; 0 means 500 ms.
	UDPTimeout time.Duration
}

// Metrics are the measurements of one Pair. A nil result means that
// measurement failed; Errors says why.
type Metrics struct {
	// Bulk is the iperf3 TCP transfer, client to server.
	Bulk *BulkResult `json:"bulk,omitempty"`
	// BulkRev is the iperf3 TCP transfer server to client (iperf3 -R),
	// measured when MeasureConfig.Reverse is set.
	BulkRev *BulkResult `json:"bulk_rev,omitempty"`
	// RR is the request/response latency run.
	RR *RRResult `json:"rr,omitempty"`
	// CRR is the connect/request/response/close run.
	CRR *CRRResult `json:"crr,omitempty"`
	// UDPRR is the UDP request/response latency run, measured when
	// MeasureConfig.UDP is set.
	UDPRR *RRResult `json:"udp_rr,omitempty"`
	// Errors says what failed, one "what: why" line each.
	Errors []string `json:"errors,omitempty"`
}

// Measure runs the rr, crr and bulk measurements between the endpoints of
// pair. A failing measurement is recorded in Metrics.Errors and does not
// stop the others (cancellation of ctx does).
func Measure(ctx context.Context, pair Pair, cfg MeasureConfig, log *slog.Logger) Metrics {
	var m Metrics
	fail := func(what string, err error) {
		log.Warn("measurement failed", "what", what, "err", err)
		m.Errors = append(m.Errors, fmt.Sprintf("%s: %s", what, oneLine(err.Error())))
	}
	if cfg.Iperf == "" {
		cfg.Iperf = "iperf3"
	}
	dur := cfg.Duration
	size, err := messageSize(cfg.Size)
	if err != nil {
		fail("config", err)
		return m
	}
	port := cfg.Port
	if port == 0 {
		port = rrPort
	}
	addr := pair.dial(port)
	srv, err := startProc(log, procSpec{
		Label:  "rr server",
		Marker: `"listening"`,
		Argv: inNetns(pair.Server.Netns, cfg.Binary, "bench", "peer", "rr-server",
			"--listen", hostPort(pair.Server.IP, port), "--size", strconv.Itoa(size),
			"--max-duration", (3*dur + 5*time.Minute).String()),
	})
	if err != nil {
		fail("rr server", err)
		return m
	}
	defer srv.stop(log, sigTerm, 5*time.Second)
	if err := srv.waitReady(ctx, dynamicTimeout); err != nil {
		fail("rr server", err)
		return m
	}

	// Large frames first: a datapath that drops them makes iperf3 stall.
	// The server echoes size-byte chunks, so a multiple of size comes back
	// whole.
	bulkOK := true
	if big := (pair.MTU - frameOverhead) / size * size; big > size {
		var r RRResult
		err := runPeer(ctx, cfg.Binary, pair.Client.Netns, 30*time.Second, &r, "rr-client",
			"--addr", addr, "--size", strconv.Itoa(big), "--iterations", "3", "--warmup", "0", "--timeout", "3s")
		if err != nil {
			bulkOK = false
			fail("bulk", fmt.Errorf("skipped: %d-byte segments (MTU %d) do not pass: %w", big, pair.MTU, err))
		}
	}

	var rr RRResult
	rrArgs := []string{"--addr", addr, "--size", strconv.Itoa(size), "--duration", dur.String(), "--warmup", "200"}
	if cfg.RRIterations > 0 {
		rrArgs = append(rrArgs, "--iterations", strconv.Itoa(cfg.RRIterations))
	}
	if err := runPeer(ctx, cfg.Binary, pair.Client.Netns, dur+60*time.Second, &rr, "rr-client", rrArgs...); err != nil {
		fail("rr", err)
	} else {
		m.RR = &rr
	}

	var crr CRRResult
	err = runPeer(ctx, cfg.Binary, pair.Client.Netns, dur+60*time.Second, &crr, "crr-client",
		"--addr", addr, "--size", strconv.Itoa(size), "--duration", dur.String())
	if err != nil {
		fail("crr", err)
	} else {
		m.CRR = &crr
	}

	if bulkOK && ctx.Err() == nil {
		if b, err := runIperf(ctx, cfg.Iperf, pair, dur, false, log); err != nil {
			fail("bulk", err)
		} else {
			m.Bulk = b
		}
	}
	if cfg.Reverse && bulkOK && ctx.Err() == nil {
		if b, err := runIperf(ctx, cfg.Iperf, pair, dur, true, log); err != nil {
			fail("bulk rev", err)
		} else {
			m.BulkRev = b
		}
	}
	if cfg.UDP && ctx.Err() == nil {
		if r, err := measureUDP(ctx, pair, cfg, port+udpPortOffset, size, log); err != nil {
			fail("udp rr", err)
		} else {
			m.UDPRR = r
			if r.Lost > 0 {
				m.Errors = append(m.Errors, fmt.Sprintf("udp rr: %d of %d datagrams unanswered within %s",
					r.Lost, r.Lost+r.Iterations, udpTimeout(cfg)))
			}
		}
	}
	return m
}

// udpTimeout is the UDP rr client's loss timeout.
func udpTimeout(cfg MeasureConfig) time.Duration {
	if cfg.UDPTimeout > 0 {
		return cfg.UDPTimeout
	}
	return defaultUDPTimeout
}

// measureUDP runs a UDP echo server on port in the server namespace and
// a UDP rr client against it.
func measureUDP(ctx context.Context, pair Pair, cfg MeasureConfig, port, size int, log *slog.Logger) (*RRResult, error) {
	dur := cfg.Duration
	srv, err := startProc(log, procSpec{
		Label:  "udp server",
		Marker: `"listening"`,
		Argv: inNetns(pair.Server.Netns, cfg.Binary, "bench", "peer", "udp-server",
			"--listen", hostPort(pair.Server.IP, port), "--max-duration", (dur + 5*time.Minute).String()),
	})
	if err != nil {
		return nil, err
	}
	defer srv.stop(log, sigTerm, 5*time.Second)
	if err := srv.waitReady(ctx, dynamicTimeout); err != nil {
		return nil, err
	}
	args := []string{"--addr", pair.dial(port), "--size", strconv.Itoa(size), "--duration", dur.String(),
		"--warmup", "200", "--timeout", udpTimeout(cfg).String()}
	if cfg.RRIterations > 0 {
		args = append(args, "--iterations", strconv.Itoa(cfg.RRIterations))
	}
	var r RRResult
	if err := runPeer(ctx, cfg.Binary, pair.Client.Netns, dur+60*time.Second, &r, "udp-rr-client", args...); err != nil {
		return nil, err
	}
	return &r, nil
}

// runPeer runs `binary bench peer sub args...` in netns and decodes its
// JSON result into out.
func runPeer(ctx context.Context, binary, netns string, timeout time.Duration, out any, sub string, args ...string) error {
	argv := inNetns(netns, append([]string{binary, "bench", "peer", sub}, args...)...)
	stdout, err := runCmd(ctx, timeout, argv...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		return fmt.Errorf("%s output: %w: %s", sub, err, tail(string(stdout), 200))
	}
	return nil
}
