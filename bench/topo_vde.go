package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// VDETopology connects the endpoints through vde_switch (Debian's vde2)
// with one TAP port per endpoint. The switch runs in a "host" namespace,
// where it creates the TAPs; they are then moved into the endpoint
// namespaces (the switch's file descriptors keep working) and renamed eth0.
type VDETopology struct {
	topoBase
	binary string
}

// NewVDETopology returns a vde_switch topology; vdeSwitch is the program
// to run ("vde_switch" when empty).
func NewVDETopology(vdeSwitch string, opts TopologyOptions) (*VDETopology, error) {
	b, err := newTopoBase("vde", opts)
	if err != nil {
		return nil, err
	}
	if vdeSwitch == "" {
		vdeSwitch = "vde_switch"
	}
	return &VDETopology{topoBase: b, binary: vdeSwitch}, nil
}

// Name implements Topology.
func (t *VDETopology) Name() string { return "vde_switch" }

// Setup implements Topology.
func (t *VDETopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	ns, err := t.newNetnses(ctx, "host", "a", "b")
	if err != nil {
		return Pair{}, err
	}
	hostNs, clientNs, serverNs := ns[0], ns[1], ns[2]
	dir, err := os.MkdirTemp("", "sybench-vde-")
	if err != nil {
		return Pair{}, fmt.Errorf("vde_switch socket dir: %w", err)
	}
	t.onTeardown(func() { _ = os.RemoveAll(dir) })

	sw, err := startProc(t.log, procSpec{
		Label: "vde_switch",
		Argv: inNetns(hostNs, t.binary,
			"--sock", filepath.Join(dir, "ctl"), "--mgmt", filepath.Join(dir, "mgmt"),
			"--tap", "tapa", "--tap", "tapb"),
		KeepStdin: true,
	})
	if err != nil {
		return Pair{}, err
	}
	t.stopProcOnTeardown(sw, 5*time.Second)
	// Stop waiting for the TAPs as soon as the switch dies.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sw.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	host, err := openNsLinks(hostNs)
	if err != nil {
		return Pair{}, err
	}
	defer host.Close()
	p := t.pair(clientNs, serverNs, mtu)
	for _, ep := range []struct {
		tap string
		e   Endpoint
	}{{"tapa", p.Client}, {"tapb", p.Server}} {
		if err := t.moveTap(ctx, host, sw, ep.tap, ep.e, mtu); err != nil {
			return Pair{}, err
		}
	}
	if err := prepareClient(ctx, clientNs); err != nil {
		return Pair{}, err
	}
	t.log.Debug("vde_switch ready", "mtu", mtu, "client", p.Client, "server", p.Server)
	return p, nil
}

// moveTap waits for the switch's TAP, moves it into the endpoint's
// namespace, renames it eth0 and addresses it.
func (t *VDETopology) moveTap(ctx context.Context, host *nsLinks, sw *proc, tap string, e Endpoint, mtu int) error {
	l, err := host.waitLink(ctx, tap, dynamicTimeout)
	if err != nil {
		if sw.exited() {
			return fmt.Errorf("vde_switch exited: %v: %s", sw.err, oneLine(sw.output()))
		}
		return err
	}
	ep, err := openNsLinks(e.Netns)
	if err != nil {
		return err
	}
	defer ep.Close()
	if err := host.handle.LinkSetNsFd(l, int(ep.fd)); err != nil {
		return fmt.Errorf("move %s from %s to %s: %w", tap, host.ns, e.Netns, err)
	}
	moved, err := ep.waitLink(ctx, tap, dynamicTimeout)
	if err != nil {
		return err
	}
	return ep.configure(moved, "eth0", mtu, t.hostPrefixFor(e))
}
