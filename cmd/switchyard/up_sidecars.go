package main

import (
	"context"
	"log/slog"

	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/dockerplugin"
	"github.com/switchyard/switchyard/metrics"
)

// sidecars are the optional servers `up` runs beside the control API.
type sidecars struct {
	metricsAddr  string // --metrics-addr; "" off
	pluginSocket string // --docker-plugin's socket; "" off
}

// listen binds every enabled sidecar, so that a bad address fails
// start-up, and returns their serving loops (each ends with its ctx).
// On error nothing stays bound.
func (s sidecars) listen(d *daemon.Daemon, log *slog.Logger) ([]func(context.Context), error) {
	var runs []func(context.Context)
	var closers []func()
	fail := func(err error) ([]func(context.Context), error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	if s.metricsAddr != "" {
		var opts []metrics.Option
		if d.Config().ClusterStore != "" {
			opts = append(opts, metrics.WithHosts(d.Hosts))
		}
		ms, err := metrics.Listen(s.metricsAddr, d.Stats, log, opts...)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { ms.Close() })
		runs = append(runs, func(ctx context.Context) {
			if err := ms.Serve(ctx); err != nil {
				log.Error("metrics server stopped", "err", err)
			}
		})
	}
	if s.pluginSocket != "" {
		ln, err := daemon.Listen(s.pluginSocket)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { ln.Close() })
		ps := dockerplugin.New(d, dockerplugin.Config{Log: log})
		runs = append(runs, func(ctx context.Context) {
			if err := ps.Serve(ctx, ln); err != nil {
				log.Error("docker plugin stopped", "err", err)
			}
		})
	}
	return runs, nil
}
