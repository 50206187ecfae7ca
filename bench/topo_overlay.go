package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Overlay topology names.
const (
	TopologyOverlay     = "switchyard-overlay"
	TopologyKernelVXLAN = "kernel-vxlan"
)

// overlayVNI is the VNI both overlay topologies use.
const overlayVNI = "4242"

// underlay is the part the overlay topologies share: two "host"
// namespaces on a bridge in a third, addressed 192.168.201.1 and .2 at the
// measured (underlay) MTU.
type underlay struct {
	topoBase
	hosts [2]string
}

// underlayAddr is host i's underlay address.
func underlayAddr(i int) string { return fmt.Sprintf("192.168.201.%d", i+1) }

// build creates the underlay at mtu.
func (u *underlay) build(ctx context.Context, mtu int) error {
	ns, err := u.newNetnses(ctx, "ul", "h1", "h2")
	if err != nil {
		return err
	}
	br := ns[0]
	u.hosts = [2]string{ns[1], ns[2]}
	m := strconv.Itoa(mtu)
	steps := [][]string{inNetns(br, "ip", "link", "add", "br0", "mtu", m, "type", "bridge"), inNetns(br, "ip", "link", "set", "br0", "up")}
	for i, h := range u.hosts {
		p := fmt.Sprintf("p%d", i)
		steps = append(steps,
			inNetns(br, "ip", "link", "add", p, "mtu", m, "type", "veth", "peer", "name", "ul0", "mtu", m, "netns", h),
			inNetns(br, "ip", "link", "set", p, "master", "br0", "up"),
			inNetns(h, "ip", "addr", "add", underlayAddr(i)+"/24", "dev", "ul0"),
			inNetns(h, "ip", "link", "set", "ul0", "up"))
	}
	return runSteps(ctx, steps)
}

// runSteps runs commands in order, stopping at the first failure.
func runSteps(ctx context.Context, steps [][]string) error {
	for _, argv := range steps {
		if _, err := runCmd(ctx, 10*time.Second, argv...); err != nil {
			return err
		}
	}
	return nil
}

// OverlayTopology connects the endpoints through two switchyard daemons,
// one per host namespace, with an overlay network whose tunnels point at
// each other (--peer, no cluster store in the data path).
type OverlayTopology struct {
	underlay
	binary string
}

// NewOverlayTopology returns the switchyard overlay topology.
func NewOverlayTopology(binary string, opts TopologyOptions) (*OverlayTopology, error) {
	b, err := newTopoBase("ov", opts)
	if err != nil {
		return nil, err
	}
	return &OverlayTopology{underlay: underlay{topoBase: b}, binary: binary}, nil
}

// Name implements Topology.
func (t *OverlayTopology) Name() string { return TopologyOverlay }

// Setup implements Topology; mtu is the underlay's, endpoints get mtu-50.
func (t *OverlayTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	if err := t.build(ctx, mtu); err != nil {
		return Pair{}, err
	}
	eps, err := t.newNetnses(ctx, "a", "b")
	if err != nil {
		return Pair{}, err
	}
	dir, err := os.MkdirTemp("", "sybench-ov-")
	if err != nil {
		return Pair{}, fmt.Errorf("socket dir: %w", err)
	}
	t.onTeardown(func() { _ = os.RemoveAll(dir) })
	p := t.pair(eps[0], eps[1], mtu-50)
	for i, e := range []Endpoint{p.Client, p.Server} {
		sock := filepath.Join(dir, fmt.Sprintf("h%d.sock", i))
		d, err := startProc(t.log, procSpec{Label: "switchyard daemon " + t.hosts[i],
			Argv: inNetns(t.hosts[i], t.binary, "up", "--socket", sock)})
		if err != nil {
			return Pair{}, err
		}
		t.stopProcOnTeardown(d, 15*time.Second)
		if err := waitUnixSocket(ctx, sock, d, 20*time.Second); err != nil {
			return Pair{}, err
		}
		cli := func(args ...string) error {
			_, err := runCmd(ctx, 30*time.Second, append(append([]string{t.binary}, args...), "--socket", sock)...)
			return err
		}
		if err := cli("network", "create", "bench", "--driver", "overlay", "--subnet", t.subnet.String(),
			"--vni", overlayVNI, "--peer", underlayAddr(1-i)); err != nil {
			return Pair{}, err
		}
		if err := cli("attach", "bench", e.Netns, "--name", fmt.Sprintf("e%d", i), "--ip", e.IP.String()); err != nil {
			return Pair{}, err
		}
		if err := waitAddr(ctx, e, "eth0", dynamicTimeout); err != nil {
			return Pair{}, fmt.Errorf("after attach: %w", err)
		}
	}
	return p, prepareClient(ctx, p.Client.Netns)
}

// KernelVXLANTopology is the reference: in each host namespace a Linux
// bridge with a vxlan device (static FDB, nolearning, the same VNI and
// port) and a veth to the endpoint namespace, as flannel's vxlan backend
// and Docker's overlay driver wire containers.
type KernelVXLANTopology struct {
	underlay
}

// NewKernelVXLANTopology returns the kernel vxlan topology.
func NewKernelVXLANTopology(opts TopologyOptions) (*KernelVXLANTopology, error) {
	b, err := newTopoBase("kv", opts)
	if err != nil {
		return nil, err
	}
	return &KernelVXLANTopology{underlay: underlay{topoBase: b}}, nil
}

// Name implements Topology.
func (t *KernelVXLANTopology) Name() string { return TopologyKernelVXLAN }

// Setup implements Topology; mtu is the underlay's, endpoints get mtu-50.
func (t *KernelVXLANTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	if err := t.build(ctx, mtu); err != nil {
		return Pair{}, err
	}
	eps, err := t.newNetnses(ctx, "a", "b")
	if err != nil {
		return Pair{}, err
	}
	p := t.pair(eps[0], eps[1], mtu-50)
	inner := strconv.Itoa(mtu - 50)
	var steps [][]string
	for i, e := range []Endpoint{p.Client, p.Server} {
		h := t.hosts[i]
		steps = append(steps,
			inNetns(h, "ip", "link", "add", "br0", "mtu", inner, "type", "bridge"),
			inNetns(h, "ip", "link", "add", "vx0", "type", "vxlan", "id", overlayVNI, "dstport", "4789",
				"local", underlayAddr(i), "dev", "ul0", "nolearning"),
			inNetns(h, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", underlayAddr(1-i)),
			inNetns(h, "ip", "link", "set", "vx0", "master", "br0", "up"),
			inNetns(h, "ip", "link", "set", "br0", "up"),
			inNetns(h, "ip", "link", "add", "ve", "mtu", inner, "type", "veth", "peer", "name", "eth0", "mtu", inner, "netns", e.Netns),
			inNetns(h, "ip", "link", "set", "ve", "master", "br0", "up"),
			inNetns(e.Netns, "ip", "addr", "add", t.hostPrefixFor(e).String(), "dev", "eth0"),
			inNetns(e.Netns, "ip", "link", "set", "eth0", "up"))
	}
	if err := runSteps(ctx, steps); err != nil {
		return Pair{}, err
	}
	return p, prepareClient(ctx, p.Client.Netns)
}

// The overlay topologies.
var (
	_ Topology = (*OverlayTopology)(nil)
	_ Topology = (*KernelVXLANTopology)(nil)
)
