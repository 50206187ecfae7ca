package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// The NAT benchmark's server lives in a "remote" namespace reachable only
// from the host: a veth pair joins the caller's (root) namespace, which
// holds NATRemoteHostIP on its side, to the remote namespace, which holds
// NATRemoteIP on eth0 with a default route via NATRemoteHostIP. Traffic
// from an endpoint reaches it only through the datapath's NAT (host
// sockets); no forwarding is involved.
var (
	// NATRemotePrefix is the /30 of the veth pair.
	NATRemotePrefix = netip.MustParsePrefix("10.206.0.0/30")
	// NATRemoteHostIP is the root namespace's side of the pair.
	NATRemoteHostIP = netip.MustParseAddr("10.206.0.1")
	// NATRemoteIP is the server's address in the remote namespace.
	NATRemoteIP = netip.MustParseAddr("10.206.0.2")
)

// remoteLinkPrefix starts the name of the root-side veth; the harness's
// process id follows (at most 7 digits: 14 of IFNAMSIZ's 15 characters).
const remoteLinkPrefix = "sybench"

// remoteLinkName is the root-side veth of this process's remote namespace.
func remoteLinkName() string { return remoteLinkPrefix + strconv.Itoa(os.Getpid()) }

// addRemote creates the remote namespace and its veth pair, both at mtu,
// and the (still unconnected) client namespace; it returns the server
// endpoint and the client namespace's name. Teardown deletes the root-side
// link (which takes its peer along) before the namespace, so that the next
// Setup finds the name and the addresses free.
func (b *topoBase) addRemote(ctx context.Context, mtu int) (Endpoint, string, error) {
	if err := checkRemoteFree(); err != nil {
		return Endpoint{}, "", err
	}
	server, err := b.addVethNetns(ctx, vethNetns{role: "remote", link: remoteLinkName(), prefix: NATRemotePrefix,
		hostIP: NATRemoteHostIP, nsIP: NATRemoteIP, mtu: mtu})
	if err != nil {
		return Endpoint{}, "", err
	}
	client, err := b.newNetns(ctx, "client")
	return server, client, err
}

// vethNetns describes a namespace joined to the caller's by a veth pair.
type vethNetns struct {
	// role names the namespace (see newNetns).
	role string
	// link is the root-side veth's name; the namespace's side is eth0.
	link string
	// prefix is the pair's subnet; hostIP the root side's address, nsIP
	// the namespace's, whose default route points at hostIP.
	prefix       netip.Prefix
	hostIP, nsIP netip.Addr
	mtu          int
}

// addVethNetns creates a namespace joined to the caller's by a veth pair
// as v says and returns the namespace's endpoint. Teardown deletes the
// root-side link (which takes its peer along) before the namespace.
func (b *topoBase) addVethNetns(ctx context.Context, v vethNetns) (Endpoint, error) {
	ns, err := b.newNetns(ctx, v.role)
	if err != nil {
		return Endpoint{}, err
	}
	link, m := v.link, strconv.Itoa(v.mtu)
	if _, err := runCmd(ctx, 10*time.Second, "ip", "link", "add", link, "mtu", m, "type", "veth",
		"peer", "name", "eth0", "mtu", m, "netns", ns); err != nil {
		return Endpoint{}, fmt.Errorf("%s veth: %w", v.role, err)
	}
	b.onTeardown(func() {
		if _, err := runCmd(context.Background(), 10*time.Second, "ip", "link", "del", link); err != nil {
			b.log.Warn("teardown", "err", err)
		}
	})
	hostSide := netip.PrefixFrom(v.hostIP, v.prefix.Bits()).String()
	nsSide := netip.PrefixFrom(v.nsIP, v.prefix.Bits()).String()
	for _, argv := range [][]string{
		{"ip", "addr", "add", hostSide, "dev", link},
		{"ip", "link", "set", link, "up"},
		{"ip", "-n", ns, "addr", "add", nsSide, "dev", "eth0"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "route", "add", "default", "via", v.hostIP.String()},
	} {
		if _, err := runCmd(ctx, 10*time.Second, argv...); err != nil {
			return Endpoint{}, fmt.Errorf("%s namespace: %w", v.role, err)
		}
	}
	e := Endpoint{Netns: ns, IP: v.nsIP}
	if err := waitAddr(ctx, e, "eth0", dynamicTimeout); err != nil {
		return Endpoint{}, err
	}
	b.log.Debug("veth namespace ready", "role", v.role, "netns", ns, "link", link, "mtu", v.mtu)
	return e, nil
}

// checkRemoteFree fails when an interface of the caller's namespace
// already has an address in NATRemotePrefix (another NAT benchmark, or a
// network that happens to use the range): the server would not be
// reachable unambiguously.
func checkRemoteFree() error {
	if err := checkPrefixFree(NATRemotePrefix); err != nil {
		return fmt.Errorf("%w, which the NAT benchmark's remote namespace needs (another bench nat running?)", err)
	}
	return nil
}

// checkPrefixFree fails when an interface of the caller's namespace
// already has an address in prefix.
func checkPrefixFree(prefix netip.Prefix) error {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipn.IP); ok && prefix.Contains(ip.Unmap()) {
			return fmt.Errorf("host address %s is already in %s", ipn, prefix)
		}
	}
	return nil
}
