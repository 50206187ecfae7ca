package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// Topology wires a client and a server namespace together through one
// datapath (a switch, a bridge, a NAT, a proxy...).
//
// Setup builds the topology for one MTU and returns the endpoints to run
// peers in. Teardown removes everything Setup created — namespaces,
// processes, temporary files — also after a failed or cancelled Setup; it
// may be called more than once. A Topology is set up at most once at a time.
type Topology interface {
	Name() string
	Setup(ctx context.Context, mtu int) (Pair, error)
	Teardown()
}

// Endpoint is one side of a Pair: a named network namespace (usable with
// `ip netns exec`) and the address its peer binds to or is reached at.
type Endpoint struct {
	Netns string
	IP    netip.Addr
}

// Pair is what a Topology hands to the measurements: a client endpoint
// that can reach the server endpoint at Server.IP.
type Pair struct {
	Client Endpoint
	Server Endpoint
	MTU    int
	// Dial, when set, gives the address the client dials to reach the
	// server's port (TCP or UDP; the servers' ports are distinct), e.g.
	// a port published on a host; nil means Server.IP and the same port.
	Dial func(port int) netip.AddrPort `json:"-"`
}

// dial returns the address the client dials to reach the server's port.
func (p Pair) dial(port int) string {
	if p.Dial != nil {
		return p.Dial(port).String()
	}
	return hostPort(p.Server.IP, port)
}

// TopologyOptions are the settings shared by the built-in topologies.
type TopologyOptions struct {
	// Subnet is the endpoint subnet; the client gets host .10 and the
	// server host .11. It must be a private range used only inside the
	// harness's own namespaces.
	Subnet netip.Prefix
	// Log receives progress and cleanup messages; nil discards them.
	Log *slog.Logger
}

// dynamicTimeout bounds waits for things other processes create (links,
// sockets).
const dynamicTimeout = 10 * time.Second

// topoBase carries what every topology needs: a logger, a short tag for
// namespace names and a stack of undo steps run by Teardown.
type topoBase struct {
	log    *slog.Logger
	tag    string
	subnet netip.Prefix
	undo   []func()
}

// newTopoBase checks the platform, validates opts and returns the shared part of a topology.
func newTopoBase(tag string, opts TopologyOptions) (topoBase, error) {
	if err := checkPlatform(); err != nil {
		return topoBase{}, fmt.Errorf("topology %s: %w", tag, err)
	}
	if !opts.Subnet.IsValid() || !opts.Subnet.Addr().Is4() || opts.Subnet.Bits() > 24 {
		return topoBase{}, fmt.Errorf("topology %s: subnet %q must be an IPv4 prefix of /24 or wider", tag, opts.Subnet)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return topoBase{log: log.With("topology", tag), tag: tag, subnet: opts.Subnet.Masked()}, nil
}

// onTeardown pushes an undo step.
func (b *topoBase) onTeardown(f func()) { b.undo = append(b.undo, f) }

// Teardown runs the undo steps in reverse order.
func (b *topoBase) Teardown() {
	for i := len(b.undo) - 1; i >= 0; i-- {
		b.undo[i]()
	}
	b.undo = nil
}

// host returns host number n of the topology's subnet.
func (b *topoBase) host(n int) netip.Addr {
	a := b.subnet.Addr().As4()
	a[3] += byte(n)
	return netip.AddrFrom4(a)
}

// hostPrefixFor returns e's address with the subnet's prefix length.
func (b *topoBase) hostPrefixFor(e Endpoint) netip.Prefix {
	return netip.PrefixFrom(e.IP, b.subnet.Bits())
}

// pair returns the conventional endpoints: client .10, server .11.
func (b *topoBase) pair(clientNs, serverNs string, mtu int) Pair {
	return Pair{
		Client: Endpoint{Netns: clientNs, IP: b.host(10)},
		Server: Endpoint{Netns: serverNs, IP: b.host(11)},
		MTU:    mtu,
	}
}

// newNetns creates a namespace named after the topology and role and
// registers its deletion.
// newNetnses creates one namespace per role, in order (see newNetns).
func (b *topoBase) newNetnses(ctx context.Context, roles ...string) ([]string, error) {
	names := make([]string, 0, len(roles))
	for _, role := range roles {
		ns, err := b.newNetns(ctx, role)
		if err != nil {
			return nil, err
		}
		names = append(names, ns)
	}
	return names, nil
}

func (b *topoBase) newNetns(ctx context.Context, role string) (string, error) {
	name := nsName(b.tag + "-" + role)
	if err := addNetns(ctx, name); err != nil {
		// `ip netns add` may have left a half-made mount behind.
		_ = delNetns(name)
		return "", err
	}
	b.onTeardown(func() {
		if err := delNetns(name); err != nil {
			b.log.Warn("teardown", "err", err)
		}
	})
	return name, nil
}

// prepareClient tunes a client namespace for the connect/request/close
// test: a wide ephemeral port range and TIME_WAIT reuse, so that tens of
// thousands of short connections do not run out of ports.
func prepareClient(ctx context.Context, ns string) error {
	if err := setSysctl(ctx, ns, "net.ipv4.ip_local_port_range", "1024 65000"); err != nil {
		return err
	}
	return setSysctl(ctx, ns, "net.ipv4.tcp_tw_reuse", "1")
}

// stopProcOnTeardown registers a graceful stop of p.
func (b *topoBase) stopProcOnTeardown(p *proc, grace time.Duration) {
	b.onTeardown(func() {
		p.stop(b.log, sigTerm, grace)
		if out := p.output(); out != "" {
			b.log.Debug("process output", "proc", p.label, "output", tail(out, 2000))
		}
	})
}

// oneLine squeezes a multi-line message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// The built-in topologies.
var (
	_ Topology = (*SwitchyardTopology)(nil)
	_ Topology = (*BridgeTopology)(nil)
	_ Topology = (*VDETopology)(nil)
)
