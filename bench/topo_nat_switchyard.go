package bench

import (
	"context"
	"fmt"
	"strconv"
)

// natNetwork is the network the NAT benchmark creates in the daemon.
const natNetwork = "natbench"

// SwitchyardNATTopology sends an endpoint's traffic to the host through
// the switchyard gateway's NAT: it runs `switchyard up`, creates a
// network (TopologyOptions.Subnet, at the benchmark's MTU) and attaches a
// client namespace to it; the client's default route points at the
// gateway, whose NAT dials the server from host sockets. The server is in
// the remote namespace (see NATRemoteIP), reachable only from the host.
type SwitchyardNATTopology struct {
	SwitchyardTopology
}

// NewSwitchyardNATTopology returns a gateway NAT topology driven by the
// switchyard binary at path binary.
func NewSwitchyardNATTopology(binary string, opts TopologyOptions) (*SwitchyardNATTopology, error) {
	if binary == "" {
		return nil, fmt.Errorf("switchyard-nat topology: no binary")
	}
	b, err := newTopoBase("synat", opts)
	if err != nil {
		return nil, err
	}
	return &SwitchyardNATTopology{SwitchyardTopology{topoBase: b, binary: binary}}, nil
}

// Name implements Topology.
func (t *SwitchyardNATTopology) Name() string { return TopologySwitchyardNAT }

// Setup implements Topology.
func (t *SwitchyardNATTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	server, clientNs, err := t.addRemote(ctx, mtu)
	if err != nil {
		return Pair{}, err
	}
	daemon, err := t.startDaemon(ctx)
	if err != nil {
		return Pair{}, err
	}
	m := strconv.Itoa(mtu)
	if err := t.cli(ctx, "network", "create", natNetwork, "--subnet", t.subnet.String(), "--mtu", m); err != nil {
		return Pair{}, err
	}
	client := Endpoint{Netns: clientNs, IP: t.host(10)}
	if err := t.cli(ctx, "attach", natNetwork, clientNs, "--name", "client", "--ip", client.IP.String(), "--mtu", m); err != nil {
		return Pair{}, err
	}
	if err := waitAddr(ctx, client, "eth0", dynamicTimeout); err != nil {
		return Pair{}, fmt.Errorf("after attach: %w", err)
	}
	if daemon.exited() {
		return Pair{}, fmt.Errorf("switchyard daemon exited: %v: %s", daemon.err, oneLine(daemon.output()))
	}
	if err := prepareClient(ctx, clientNs); err != nil {
		return Pair{}, err
	}
	p := Pair{Client: client, Server: server, MTU: mtu}
	t.log.Debug("switchyard-nat ready", "mtu", mtu, "client", p.Client, "server", p.Server)
	return p, nil
}
