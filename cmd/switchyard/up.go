package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/dockerplugin"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/state"
)

// cmdUp runs the daemon in the foreground until SIGINT/SIGTERM.
func cmdUp(args []string, log *slog.Logger) error {
	fs := newFlags("up")
	var (
		config, socket, subnet, gateway      string
		subnet6, gateway6                    string
		pcapPath, metricsAddr, stateDir      string
		ageing                               time.Duration
		fdbMax, queueLen, txq                int
		plain, debug, dnsNames, dhcpOn, live bool
		cl                                   clusterFlags
		dockerPlugin                         bool
		pluginName, pluginDir                string
	)
	fs.StringVar(&config, "config", "", "JSON configuration file (flags override it)")
	fs.StringVar(&socket, "socket", globals.socket, "control socket path ($SWITCHYARD_SOCKET, default "+api.DefaultSocket+")")
	fs.StringVar(&subnet, "subnet", "", "subnet of the default network (10.90.0.0/24)")
	fs.StringVar(&gateway, "gateway", "", "gateway of the default network (10.90.0.1)")
	fs.StringVar(&subnet6, "subnet6", "", "IPv6 subnet of the default network, making it dual-stack (e.g. fd00:90::/64)")
	fs.StringVar(&gateway6, "gateway6", "", "IPv6 gateway of the default network (default: the IPv6 subnet's first address)")
	fs.DurationVar(&ageing, "ageing", 0, "forwarding table ageing time (300s)")
	fs.IntVar(&fdbMax, "fdb-max", 0, "forwarding table size cap per switch (8192)")
	fs.IntVar(&queueLen, "queue-len", 0, "egress queue length per port, frames (512)")
	fs.IntVar(&txq, "txqueuelen", 0, "txqueuelen of the TAP interfaces (10000)")
	fs.BoolVar(&plain, "plain-tap", false, "open TAPs without virtio-net header (no offloads)")
	fs.BoolVar(&debug, "debug", false, "log at debug level")
	fs.StringVar(&pcapPath, "pcap", "", "capture every port of every network from start-up into this pcapng file")
	fs.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics on HOST:PORT/metrics (off by default)")
	fs.BoolVar(&dockerPlugin, "docker-plugin", false, "serve Docker's network and IPAM plugin protocol on DIR/NAME.sock")
	fs.StringVar(&pluginName, "docker-plugin-name", "switchyard", "the plugin's name (docker network create -d NAME --ipam-driver NAME)")
	fs.StringVar(&pluginDir, "docker-plugin-dir", dockerplugin.DefaultDir, "where dockerd looks for plugin sockets")
	fs.BoolVar(&dnsNames, "dns-names", false, "resolve endpoint names on the built-in networks too (user networks always do)")
	fs.BoolVar(&dhcpOn, "dhcp", false, "serve DHCP on the default network (off by default, as in Docker)")
	cl.register(fs)
	fs.StringVar(&stateDir, "state-dir", "", "where the daemon keeps its state for a restart ("+state.DefaultDir+")")
	fs.BoolVar(&live, "live-restore", false, "on SIGINT/SIGTERM leave endpoints in place for the next start")
	if _, err := parse(fs, args, 0, 0, "up [--config FILE] [--socket PATH] [--subnet CIDR] [--gateway IP] [--subnet6 CIDR [--gateway6 IP]] [--dns-names] [--dhcp] [--pcap FILE] [--metrics-addr HOST:PORT] [--docker-plugin] [--cluster-store etcd://HOST:PORT --cluster-advertise IP] [--state-dir DIR] [--live-restore] [flags]"); err != nil {
		return err
	}
	if missing := nsutil.MissingNetCaps(); len(missing) > 0 {
		return fmt.Errorf("up: missing %s: run the daemon as root (it creates TAPs in network namespaces)", strings.Join(missing, " and "))
	}
	cfg := daemon.Config{}
	if config != "" {
		data, err := os.ReadFile(config)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if cfg, err = daemon.ParseConfig(data); err != nil {
			return configError(config, err)
		}
	}
	if env := os.Getenv("SWITCHYARD_SOCKET"); env != "" && cfg.Socket == "" {
		cfg.Socket = env
	}
	if socket != "" {
		cfg.Socket = socket
	}
	if subnet != "" || gateway != "" || subnet6 != "" || gateway6 != "" || dhcpOn {
		if cfg.Networks == nil {
			cfg.Networks = []daemon.NetworkConfig{daemon.DefaultNetwork}
		}
		// The flags change the network named default, adding it when the
		// config file left it out.
		i := slices.IndexFunc(cfg.Networks, func(n daemon.NetworkConfig) bool { return n.Name == daemon.DefaultNetwork.Name })
		if i < 0 {
			cfg.Networks = append(cfg.Networks, daemon.DefaultNetwork)
			i = len(cfg.Networks) - 1
		}
		def := &cfg.Networks[i]
		if subnet != "" {
			def.Subnet, def.Gateway = subnet, ""
		}
		if gateway != "" {
			def.Gateway = gateway
		}
		if subnet6 != "" {
			def.Subnet6, def.Gateway6 = subnet6, ""
		}
		if gateway6 != "" {
			def.Gateway6 = gateway6
		}
		if dhcpOn {
			def.DHCP = "on"
		}
	}
	cl.apply(&cfg)
	setIf(&cfg.FDBMax, fdbMax)
	setIf(&cfg.QueueLen, queueLen)
	setIf(&cfg.TxQueueLen, txq)
	if ageing != 0 {
		cfg.AgeingTime = daemon.Duration(ageing)
	}
	cfg.PlainTAP = cfg.PlainTAP || plain
	cfg.DNSNames = cfg.DNSNames || dnsNames
	cfg.LiveRestore = cfg.LiveRestore || live
	if stateDir != "" {
		cfg.StateDir = stateDir
	}
	if cfg.StateDir == "" {
		cfg.StateDir = state.DefaultDir
	}
	if pcapPath != "" {
		cfg.PcapFile = pcapPath
	}
	if debug {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Log = log
	sc := sidecars{metricsAddr: metricsAddr}
	if dockerPlugin {
		path, err := dockerplugin.SocketPath(pluginDir, pluginName)
		if err != nil {
			return err
		}
		sc.pluginSocket = path
	}
	return serve(cfg, sc)
}

func setIf(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

// serve runs the daemon, and the sidecars enabled, until SIGINT/SIGTERM.
func serve(cfg daemon.Config, sc sidecars) error {
	d, err := daemon.New(cfg, nil)
	if err != nil {
		return err
	}
	cfg = d.Config()
	ln, err := daemon.Listen(cfg.Socket)
	if err != nil {
		d.Close()
		return err
	}
	runs, err := sc.listen(d, cfg.Log)
	if err != nil {
		ln.Close()
		d.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() { run(ctx) })
	}
	cfg.Log.Info("switchyard up", "socket", cfg.Socket, "networks", len(cfg.Networks))
	err = d.Serve(ctx, ln)
	stop() // ends the sidecars too
	wg.Wait()
	cfg.Log.Info("switchyard down")
	return err
}

// configError names the configuration file in err, with the line and
// column when the decoder could place it (file:line:column, as compilers).
func configError(file string, err error) error {
	var ce *daemon.ConfigError
	if errors.As(err, &ce) && ce.Line > 0 {
		return fmt.Errorf("config %s:%d:%d: %w", file, ce.Line, ce.Column, ce.Err)
	}
	return fmt.Errorf("config %s: %s", file, strings.TrimPrefix(err.Error(), "config: "))
}
