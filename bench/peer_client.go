package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// Default bounds of the client peers when the caller gives none.
const (
	defaultRRIterations = 10000
	defaultPeerTimeout  = 5 * time.Second
	// maxSamples bounds the latency samples an rr client keeps.
	maxSamples = 5_000_000
	// maxConsecutiveErrors aborts a crr client whose connections keep
	// failing.
	maxConsecutiveErrors = 50
)

// RRClientConfig configures a request/response latency client.
type RRClientConfig struct {
	// Addr is the echo server, host:port.
	Addr string
	// Size is the request and response size; 0 means DefaultMessageSize.
	Size int
	// Iterations and Duration bound the measured exchanges; the client
	// stops at whichever comes first. Both 0 means 10000 iterations.
	Iterations int
	Duration   time.Duration
	// Warmup exchanges run first and are not recorded.
	Warmup int
	// Timeout bounds each exchange and the connect; 0 means 5 s.
	Timeout time.Duration
}

// RRResult summarises request/response latencies.
type RRResult struct {
	// Size is the request and response size in bytes.
	Size int `json:"size"`
	// Iterations is the number of timed exchanges (warmup excluded).
	Iterations int `json:"iterations"`
	// Seconds is the wall time of the timed exchanges.
	Seconds float64 `json:"seconds"`
	// TransPerSec is Iterations / Seconds.
	TransPerSec float64 `json:"trans_per_sec"`
	// Latency statistics of one exchange, in microseconds; percentiles
	// are nearest-rank.
	MinUS  float64 `json:"min_us"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P90US  float64 `json:"p90_us"`
	P99US  float64 `json:"p99_us"`
	MaxUS  float64 `json:"max_us"`
	// Lost counts datagrams left unanswered (UDP rr only).
	Lost int `json:"lost,omitempty"`
}

// RunRRClient connects to an echo server over one TCP connection and
// times request/response exchanges: send Size bytes, wait for Size bytes.
func RunRRClient(ctx context.Context, cfg RRClientConfig) (*RRResult, error) {
	size, err := messageSize(cfg.Size)
	if err != nil {
		return nil, err
	}
	iters, timeout := cfg.Iterations, cfg.Timeout
	if iters <= 0 {
		iters = maxSamples
		if cfg.Duration <= 0 {
			iters = defaultRRIterations
		}
	}
	iters = min(iters, maxSamples)
	if timeout <= 0 {
		timeout = defaultPeerTimeout
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rr client: %w", err)
	}
	defer c.Close()
	// Unblock an exchange in flight on cancellation; the loops check ctx
	// before every exchange (which resets the deadline).
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req, resp := make([]byte, size), make([]byte, size)
	for i := range req {
		req[i] = byte(i)
	}
	for i := 0; i < cfg.Warmup && ctx.Err() == nil; i++ {
		if _, err := exchange(c, req, resp, timeout); err != nil {
			return nil, fmt.Errorf("rr client: warmup %d: %w", i, ctxErrOr(ctx, err))
		}
	}
	lat := make([]time.Duration, 0, min(iters, 1<<20))
	start := time.Now()
	var end time.Time
	if cfg.Duration > 0 {
		end = start.Add(cfg.Duration)
	}
	for len(lat) < iters {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("rr client: %w", err)
		}
		d, err := exchange(c, req, resp, timeout)
		if err != nil {
			return nil, fmt.Errorf("rr client: exchange %d: %w", len(lat), ctxErrOr(ctx, err))
		}
		lat = append(lat, d)
		if !end.IsZero() && len(lat)%64 == 0 && time.Now().After(end) {
			break
		}
	}
	r := summarize(lat, time.Since(start))
	r.Size = size
	return &r, nil
}

// exchange sends req and reads len(resp) bytes, returning the round trip
// time.
func exchange(c net.Conn, req, resp []byte, timeout time.Duration) (time.Duration, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(c, resp); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// CRRClientConfig configures a connect/request/response/close client.
type CRRClientConfig struct {
	// Addr is the echo server, host:port.
	Addr string
	// Size is the request and response size; 0 means DefaultMessageSize.
	Size int
	// Duration and MaxConns bound the run; the client stops at whichever
	// comes first. Both 0 means 5 s.
	Duration time.Duration
	MaxConns int
	// Timeout bounds each connection's life; 0 means 5 s.
	Timeout time.Duration
}

// CRRResult is the outcome of a connect/request/response/close run.
type CRRResult struct {
	// Size is the request and response size in bytes.
	Size int `json:"size"`
	// Conns counts completed connections; Errors failed ones, the first
	// of which is FirstError.
	Conns      int    `json:"conns"`
	Errors     int    `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
	// Seconds is the wall time of the run.
	Seconds float64 `json:"seconds"`
	// ConnsPerSec is Conns / Seconds.
	ConnsPerSec float64 `json:"conns_per_sec"`
}

// RunCRRClient repeatedly connects, sends Size bytes, reads Size bytes and
// closes, one connection at a time, and reports completed connections per
// second. It gives up after 50 failures in a row.
func RunCRRClient(ctx context.Context, cfg CRRClientConfig) (*CRRResult, error) {
	size, err := messageSize(cfg.Size)
	if err != nil {
		return nil, err
	}
	dur, maxConns, timeout := cfg.Duration, cfg.MaxConns, cfg.Timeout
	if dur <= 0 && maxConns <= 0 {
		dur = 5 * time.Second
	}
	if maxConns <= 0 {
		maxConns = int(^uint(0) >> 1)
	}
	if timeout <= 0 {
		timeout = defaultPeerTimeout
	}
	req, resp := make([]byte, size), make([]byte, size)
	res := &CRRResult{Size: size}
	d := net.Dialer{Timeout: timeout}
	start := time.Now()
	consecutive := 0
	for res.Conns < maxConns && (dur <= 0 || time.Since(start) < dur) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("crr client: %w", err)
		}
		if err := connectExchange(ctx, &d, cfg.Addr, req, resp, timeout); err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
			if consecutive++; consecutive >= maxConsecutiveErrors {
				return nil, fmt.Errorf("crr client: %d failures in a row, last: %w", consecutive, ctxErrOr(ctx, err))
			}
			continue
		}
		consecutive = 0
		res.Conns++
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.ConnsPerSec = float64(res.Conns) / res.Seconds
	}
	return res, nil
}

// connectExchange does one connect, request, response, close.
func connectExchange(ctx context.Context, d *net.Dialer, addr string, req, resp []byte, timeout time.Duration) error {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = exchange(c, req, resp, timeout)
	return err
}

// ctxErrOr prefers the context's error (cancellation) over err.
func ctxErrOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}
