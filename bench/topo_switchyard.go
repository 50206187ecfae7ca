package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// SwitchyardTopology connects the endpoints through the switchyard daemon:
// it runs `switchyard up` as a child process, creates a network and
// attaches both endpoint namespaces with the CLI. The daemon creates a TAP
// named eth0 in each namespace and switches frames between them in
// userspace.
type SwitchyardTopology struct {
	topoBase
	binary string
	sock   string
	// daemon is the running `switchyard up`, nil before Setup.
	daemon *proc
}

// NewSwitchyardTopology returns a topology driven by the switchyard binary
// at path binary.
func NewSwitchyardTopology(binary string, opts TopologyOptions) (*SwitchyardTopology, error) {
	if binary == "" {
		return nil, fmt.Errorf("switchyard topology: no binary")
	}
	b, err := newTopoBase("sy", opts)
	if err != nil {
		return nil, err
	}
	return &SwitchyardTopology{topoBase: b, binary: binary}, nil
}

// Name implements Topology.
func (t *SwitchyardTopology) Name() string { return "switchyard" }

// Setup implements Topology.
func (t *SwitchyardTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	ns, err := t.newNetnses(ctx, "a", "b")
	if err != nil {
		return Pair{}, err
	}
	clientNs, serverNs := ns[0], ns[1]
	daemon, err := t.startDaemon(ctx)
	if err != nil {
		return Pair{}, err
	}
	if err := t.cli(ctx, "network", "create", "bench", "--subnet", t.subnet.String()); err != nil {
		return Pair{}, err
	}
	p := t.pair(clientNs, serverNs, mtu)
	for _, ep := range []struct {
		name string
		e    Endpoint
	}{{"a", p.Client}, {"b", p.Server}} {
		err := t.cli(ctx, "attach", "bench", ep.e.Netns, "--name", ep.name,
			"--ip", ep.e.IP.String(), "--mtu", strconv.Itoa(mtu))
		if err != nil {
			return Pair{}, err
		}
		if err := waitAddr(ctx, ep.e, "eth0", dynamicTimeout); err != nil {
			return Pair{}, fmt.Errorf("after attach: %w", err)
		}
	}
	if daemon.exited() {
		return Pair{}, fmt.Errorf("switchyard daemon exited: %v: %s", daemon.err, oneLine(daemon.output()))
	}
	if err := prepareClient(ctx, clientNs); err != nil {
		return Pair{}, err
	}
	t.log.Debug("switchyard ready", "mtu", mtu, "client", p.Client, "server", p.Server)
	return p, nil
}

// startDaemon runs `switchyard up` with its control socket in a fresh
// temporary directory and waits until the socket accepts connections.
// Teardown stops the daemon with SIGTERM, which makes it remove its TAPs,
// and removes the directory.
func (t *SwitchyardTopology) startDaemon(ctx context.Context) (*proc, error) {
	dir, err := os.MkdirTemp("", "sybench-sy-")
	if err != nil {
		return nil, fmt.Errorf("switchyard socket dir: %w", err)
	}
	t.onTeardown(func() { _ = os.RemoveAll(dir) })
	t.sock = filepath.Join(dir, "sy.sock")

	// SIGTERM makes the daemon remove its TAPs; give it time to do so
	// before the namespaces go.
	daemon, err := startProc(t.log, procSpec{
		Label: "switchyard daemon",
		Argv:  []string{t.binary, "up", "--socket", t.sock},
	})
	if err != nil {
		return nil, err
	}
	t.stopProcOnTeardown(daemon, 15*time.Second)
	t.daemon = daemon
	t.onTeardown(func() { t.daemon = nil })
	if err := waitUnixSocket(ctx, t.sock, daemon, 20*time.Second); err != nil {
		return nil, err
	}
	return daemon, nil
}

// cli runs one switchyard CLI command against the daemon's socket. The
// client commands take --socket after the command words.
func (t *SwitchyardTopology) cli(ctx context.Context, args ...string) error {
	argv := append(append([]string{t.binary}, args...), "--socket", t.sock)
	if _, err := runCmd(ctx, 30*time.Second, argv...); err != nil {
		return fmt.Errorf("switchyard cli: %w", err)
	}
	return nil
}

// waitUnixSocket polls until a unix socket accepts connections, the
// process exits or timeout passes.
func waitUnixSocket(ctx context.Context, path string, p *proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before %s accepted connections: %v: %s", p.label, path, p.err, oneLine(p.output()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not accepting connections after %s: %w", p.label, path, timeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
