package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// SlirpTopology sends an endpoint's traffic to the host through
// slirp4netns, as rootless containers do: a client namespace gets a TAP
// (tap0) served by `slirp4netns --configure`, which runs in the caller's
// namespace and NATs the client's connections to host sockets. The client
// is host .100 of TopologyOptions.Subnet (slirp4netns's --cidr); the
// server is in the remote namespace (see NATRemoteIP).
type SlirpTopology struct {
	topoBase
	binary string
}

// NewSlirpTopology returns a slirp4netns topology; slirp is the program to
// run ("slirp4netns" when empty).
func NewSlirpTopology(slirp string, opts TopologyOptions) (*SlirpTopology, error) {
	b, err := newTopoBase("slirp", opts)
	if err != nil {
		return nil, err
	}
	if slirp == "" {
		slirp = "slirp4netns"
	}
	return &SlirpTopology{topoBase: b, binary: slirp}, nil
}

// Name implements Topology.
func (t *SlirpTopology) Name() string { return TopologySlirp }

// Setup implements Topology.
func (t *SlirpTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	server, clientNs, err := t.addRemote(ctx, mtu)
	if err != nil {
		return Pair{}, err
	}
	sl, err := startProc(t.log, procSpec{
		Label: "slirp4netns",
		Argv:  slirpArgv(t.binary, mtu, t.subnet.String(), filepath.Join(netnsDir, clientNs)),
	})
	if err != nil {
		return Pair{}, err
	}
	t.stopProcOnTeardown(sl, 5*time.Second)
	// Stop waiting for tap0 as soon as slirp4netns dies.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sl.done:
			cancel()
		case <-wctx.Done():
		}
	}()
	client := Endpoint{Netns: clientNs, IP: t.host(100)}
	if err := waitAddr(wctx, client, "tap0", dynamicTimeout); err != nil {
		if sl.exited() {
			return Pair{}, fmt.Errorf("slirp4netns exited: %v: %s", sl.err, oneLine(sl.output()))
		}
		return Pair{}, err
	}
	if err := prepareClient(ctx, clientNs); err != nil {
		return Pair{}, err
	}
	p := Pair{Client: client, Server: server, MTU: mtu}
	t.log.Debug("slirp4netns ready", "mtu", mtu, "client", p.Client, "server", p.Server)
	return p, nil
}

// slirpArgv is the slirp4netns command line for a namespace bound at
// nsPath: it configures tap0 (address .100 of cidr, default route via
// .2) and refuses connections to the host's loopback.
func slirpArgv(slirp string, mtu int, cidr, nsPath string) []string {
	return []string{slirp, "--configure", "--mtu=" + strconv.Itoa(mtu), "--cidr=" + cidr,
		"--disable-host-loopback", "--netns-type=path", nsPath, "tap0"}
}
