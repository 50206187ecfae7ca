package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// udpMinSize is the smallest UDP rr datagram: it carries an 8-byte
// sequence number.
const udpMinSize = 8

// defaultUDPTimeout bounds one UDP exchange when the caller gives no
// timeout; a datagram without an answer by then counts as lost.
const defaultUDPTimeout = 500 * time.Millisecond

// UDPServerConfig configures the UDP echo server of the UDP rr test.
type UDPServerConfig struct {
	// Listen is the UDP address to listen on, host:port.
	Listen string
	// MaxDuration stops the server after this long even if nobody cancels
	// it. 0 means no limit.
	MaxDuration time.Duration
}

// UDPServerStats counts what a UDP echo server did.
type UDPServerStats struct {
	// Datagrams counts the datagrams echoed.
	Datagrams int64 `json:"datagrams"`
}

// RunUDPServer listens on cfg.Listen, calls ready with the bound address
// (when ready is non-nil) and sends every datagram back to its sender
// until ctx ends or cfg.MaxDuration passes. Running out of time is not an
// error.
func RunUDPServer(ctx context.Context, cfg UDPServerConfig, ready func(net.Addr)) (UDPServerStats, error) {
	var stats UDPServerStats
	if cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.MaxDuration)
		defer cancel()
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", cfg.Listen)
	if err != nil {
		return stats, fmt.Errorf("udp server: %w", err)
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	if ready != nil {
		ready(pc.LocalAddr())
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return stats, nil
			}
			return stats, fmt.Errorf("udp server: %w", err)
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil && ctx.Err() == nil {
			// A client that went away (ICMP unreachable) must not stop
			// the server.
			continue
		}
		stats.Datagrams++
	}
}

// UDPRRClientConfig configures a UDP request/response latency client.
type UDPRRClientConfig struct {
	// Addr is the echo server, host:port.
	Addr string
	// Size is the datagram size (8..65507); 0 means DefaultMessageSize.
	Size int
	// Iterations and Duration bound the measured exchanges, as in
	// RRClientConfig.
	Iterations int
	Duration   time.Duration
	// Warmup exchanges run first and are not recorded.
	Warmup int
	// Timeout is how long an answer is awaited before the datagram counts
	// as lost; 0 means 500 ms.
	Timeout time.Duration
}

// RunUDPRRClient times request/response exchanges over one connected UDP
// socket: send a Size-byte datagram carrying a sequence number, wait for
// the datagram that echoes it (older answers are skipped). A datagram
// unanswered within Timeout counts in Lost and the next one is sent; the
// client gives up after 50 losses in a row.
func RunUDPRRClient(ctx context.Context, cfg UDPRRClientConfig) (*RRResult, error) {
	size := cfg.Size
	if size == 0 {
		size = DefaultMessageSize
	}
	if size < udpMinSize || size > 65507 {
		return nil, fmt.Errorf("udp rr client: datagram size %d out of range %d..65507", size, udpMinSize)
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
		timeout = defaultUDPTimeout
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("udp rr client: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	req, resp := make([]byte, size), make([]byte, 65536)
	var seq uint64
	lost, consecutive := 0, 0
	// one runs an exchange; ok is false for a lost datagram.
	one := func() (time.Duration, bool, error) {
		seq++
		binary.BigEndian.PutUint64(req, seq)
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			// ECONNREFUSED: an earlier datagram found nobody listening.
			if ctx.Err() == nil && isConnRefused(err) {
				return 0, false, nil
			}
			return 0, false, ctxErrOr(ctx, err)
		}
		if err := c.SetReadDeadline(t0.Add(timeout)); err != nil {
			return 0, false, err
		}
		for {
			n, err := c.Read(resp)
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return 0, false, nil
			}
			if err != nil {
				// ECONNREFUSED (nobody listening yet) is a loss too.
				if ctx.Err() == nil && isConnRefused(err) {
					return 0, false, nil
				}
				return 0, false, ctxErrOr(ctx, err)
			}
			if n >= udpMinSize && binary.BigEndian.Uint64(resp) == seq {
				return time.Since(t0), true, nil
			}
		}
	}
	exchange := func() (time.Duration, bool, error) {
		d, ok, err := one()
		if err != nil {
			return 0, false, err
		}
		if !ok {
			lost++
			if consecutive++; consecutive >= maxConsecutiveErrors {
				return 0, false, fmt.Errorf("%d datagrams in a row unanswered within %s", consecutive, timeout)
			}
			return 0, false, nil
		}
		consecutive = 0
		return d, true, nil
	}
	for i := 0; i < cfg.Warmup && ctx.Err() == nil; i++ {
		if _, _, err := exchange(); err != nil {
			return nil, fmt.Errorf("udp rr client: warmup: %w", err)
		}
	}
	lost = 0
	lat := make([]time.Duration, 0, min(iters, 1<<20))
	start := time.Now()
	var end time.Time
	if cfg.Duration > 0 {
		end = start.Add(cfg.Duration)
	}
	for n := 0; len(lat) < iters; n++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("udp rr client: %w", err)
		}
		d, ok, err := exchange()
		if err != nil {
			return nil, fmt.Errorf("udp rr client: exchange %d: %w", len(lat), err)
		}
		if ok {
			lat = append(lat, d)
		}
		if !end.IsZero() && (n%64 == 0 || !ok) && time.Now().After(end) {
			break
		}
	}
	r := summarize(lat, time.Since(start))
	r.Size, r.Lost = size, lost
	return &r, nil
}

// isConnRefused reports whether err is a connected UDP socket's
// ECONNREFUSED (an ICMP port unreachable came back).
func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
