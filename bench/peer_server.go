package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMessageSize is the request and response size of the rr and crr
// peers.
const DefaultMessageSize = 64

// maxMessageSize bounds the peers' message size (a full jumbo segment).
const maxMessageSize = 65536

// RRServerConfig configures the echo server used by the rr and crr tests.
type RRServerConfig struct {
	// Listen is the TCP address to listen on, host:port.
	Listen string
	// Size is the message size: the server reads Size bytes and writes
	// them back, repeatedly, until the client closes. 0 means
	// DefaultMessageSize.
	Size int
	// MaxDuration stops the server after this long even if nobody cancels
	// it, so a forgotten server cannot live forever. 0 means no limit.
	MaxDuration time.Duration
}

// RRServerStats counts what an echo server did.
type RRServerStats struct {
	// Conns counts accepted connections, Messages answered messages.
	Conns    int64 `json:"conns"`
	Messages int64 `json:"messages"`
}

// RunRRServer listens on cfg.Listen, calls ready with the bound address
// (when ready is non-nil) and echoes until ctx ends or cfg.MaxDuration
// passes. Running out of time is not an error.
func RunRRServer(ctx context.Context, cfg RRServerConfig, ready func(net.Addr)) (RRServerStats, error) {
	size, err := messageSize(cfg.Size)
	if err != nil {
		return RRServerStats{}, err
	}
	if cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.MaxDuration)
		defer cancel()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return RRServerStats{}, fmt.Errorf("rr server: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return ServeRR(ctx, ln, size)
}

// ServeRR echoes size-byte messages on every connection accepted from ln
// until ctx ends; it then closes ln and all connections and returns.
func ServeRR(ctx context.Context, ln net.Listener, size int) (RRServerStats, error) {
	var (
		stats RRServerStats
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	var acceptErr error
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				acceptErr = fmt.Errorf("rr server: accept: %w", err)
				ln.Close()
			}
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			break
		}
		conns[c] = struct{}{}
		mu.Unlock()
		atomic.AddInt64(&stats.Conns, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := echo(c, size)
			atomic.AddInt64(&stats.Messages, n)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
	// Unblock handlers stuck on live connections.
	mu.Lock()
	for c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return RRServerStats{Conns: atomic.LoadInt64(&stats.Conns), Messages: atomic.LoadInt64(&stats.Messages)}, acceptErr
}

// echo answers size-byte messages on c until the peer closes or an error
// occurs, and returns how many it answered.
func echo(c net.Conn, size int) int64 {
	buf := make([]byte, size)
	var n int64
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return n
		}
		if _, err := c.Write(buf); err != nil {
			return n
		}
		n++
	}
}

// messageSize applies the default and bounds to a message size.
func messageSize(size int) (int, error) {
	if size == 0 {
		return DefaultMessageSize, nil
	}
	if size < 1 || size > maxMessageSize {
		return 0, fmt.Errorf("message size %d out of range 1..%d", size, maxMessageSize)
	}
	return size, nil
}
