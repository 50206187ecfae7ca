package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves src's metrics, with the Go runtime's and the process's
// own, in the Prometheus exposition formats.
func Handler(src Source, opts ...Option) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(src, opts...), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// Server serves /metrics on a TCP address.
type Server struct {
	ln  net.Listener
	srv *http.Server
	log *slog.Logger
}

// Listen binds addr (HOST:PORT) for src's metrics; Serve starts serving.
func Listen(addr string, src Source, log *slog.Logger, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Server{ln: ln, log: log, srv: &http.Server{Handler: Handler(src, opts...), ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close releases the address of a server that is not serving.
func (s *Server) Close() error { return s.ln.Close() }

// Serve serves until ctx ends, then shuts the server down.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.ln) }()
	s.log.Info("serving metrics", "addr", s.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
