package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/ipam"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/state"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/tap"
)

// endpoint is one namespace's interface on one network.
type endpoint struct {
	info   api.Endpoint
	nsPath string
	ns     nsKey
	addr   netip.Addr
	addr6  netip.Addr // zero: none (IPv4-only network)
	mac    net.HardwareAddr
	port   vswitch.PortID
	dev    Device
}

// prefix is the endpoint's address with its network's prefix length.
func (ep *endpoint) prefix() netip.Prefix {
	p, _ := netip.ParsePrefix(ep.info.IP)
	return p
}

// attachPlan is a validated attach request.
type attachPlan struct {
	name, nsPath, ifname string
	ns                   nsKey
	mac                  net.HardwareAddr
	ip, ip6              netip.Addr
	mtu                  int
	aliases              []string
	dhcp                 bool
	noPortSecurity       bool
}

// Attach creates a TAP in the namespace, connects it to the network and
// gives it an address. On any failure nothing is left behind.
func (d *Daemon) Attach(network string, req api.EndpointCreate) (api.Endpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(network)
	if err != nil {
		return api.Endpoint{}, err
	}
	plan, err := d.plan(n, req)
	if err != nil {
		return api.Endpoint{}, err
	}
	if plan.ip, err = d.overlayAddr(n, plan); err != nil {
		return api.Endpoint{}, err
	}
	addr := plan.ip
	if addr.IsValid() {
		if err = n.pool.Reserve(addr); err != nil && !errors.Is(err, ipam.ErrInUse) {
			return api.Endpoint{}, fmt.Errorf("%w: network %q: %w", ErrInvalid, n.name, err)
		}
	} else {
		addr, err = n.pool.Allocate()
	}
	if err != nil {
		return api.Endpoint{}, fmt.Errorf("%w: network %q: %w", ErrConflict, n.name, err)
	}
	addr6, err := n.reserve6(plan)
	if err != nil {
		n.pool.Release(addr)
		d.overlayRelease(n, plan.name, addr)
		return api.Endpoint{}, err
	}
	// A daemon killed before the endpoint is recorded removes its TAP.
	rec := state.Endpoint{Endpoint: api.Endpoint{Name: plan.name, Network: n.name, Netns: plan.nsPath,
		IfName: plan.ifname, IP: netip.PrefixFrom(addr, n.subnet.Bits()).String(), IP6: n.prefix6(addr6)},
		NetnsDev: plan.ns.dev, NetnsIno: plan.ns.ino}
	d.begin(rec)
	ep, err := d.connect(n, plan, addr, addr6)
	if err != nil {
		n.pool.Release(addr)
		n.release6(addr6)
		d.overlayRelease(n, plan.name, addr)
		d.end(rec)
		return api.Endpoint{}, err
	}
	n.endpoints[ep.info.Name] = ep
	d.attachResolvConf(ep, req.NoResolvConf)
	n.publish()
	d.end(rec)
	if err := d.overlayAttached(n, ep); err != nil {
		d.detach(n, ep)
		return api.Endpoint{}, err
	}
	d.cfg.Log.Info("endpoint attached", "network", n.name, "endpoint", ep.info.Name,
		"netns", ep.nsPath, "ifname", ep.info.IfName, "ip", ep.info.IP, "mac", ep.info.MAC)
	return ep.info, nil
}

// plan validates an attach request against the network's state: first the
// request's own fields, then conflicts with existing endpoints.
func (d *Daemon) plan(n *network, req api.EndpointCreate) (attachPlan, error) {
	p, err := parseAttach(n, req)
	if err == nil {
		err = checkDHCPAttach(n, p)
	}
	if err != nil {
		return p, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, ok := n.endpoints[p.name]; ok {
		return p, fmt.Errorf("%w: endpoint %q already exists on network %q", ErrConflict, p.name, n.name)
	}
	for _, ep := range n.endpoints {
		if p.mac != nil && ep.mac.String() == p.mac.String() {
			return p, fmt.Errorf("%w: MAC address %s is used by endpoint %q", ErrConflict, p.mac, ep.info.Name)
		}
	}
	if p.ip.IsValid() && n.pool.InUse(p.ip) {
		return p, fmt.Errorf("%w: address %s is already in use on network %q", ErrConflict, p.ip, n.name)
	}
	if p.ip6.IsValid() && n.pool6.InUse(p.ip6) {
		return p, fmt.Errorf("%w: address %s is already in use on network %q", ErrConflict, p.ip6, n.name)
	}
	for _, ep := range n.endpoints {
		if ep.ns == p.ns {
			return p, fmt.Errorf("%w: netns %s is already attached to network %q as %q", ErrConflict, req.Netns, n.name, ep.info.Name)
		}
	}
	if p.ifname == "" {
		if p.ifname, err = d.freeIfName(p.ns, p.nsPath); err != nil {
			return p, fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	return p, nil
}

// parseAttach checks the request's fields on their own.
func parseAttach(n *network, req api.EndpointCreate) (attachPlan, error) {
	p := attachPlan{name: req.Name, ifname: req.IfName, mtu: req.MTU, dhcp: req.DHCP, noPortSecurity: req.NoPortSecurity}
	for _, a := range req.Aliases {
		if err := checkName("alias", a); err != nil {
			return p, err
		}
		p.aliases = append(p.aliases, a)
	}
	if req.Netns == "" {
		return p, fmt.Errorf("a network namespace is required")
	}
	var err error
	if p.nsPath, err = nsutil.Resolve(req.Netns); err != nil {
		return p, err
	}
	if p.ns, err = nsIdentity(p.nsPath); err != nil {
		return p, fmt.Errorf("netns %q: %w", req.Netns, err)
	}
	if err := checkNotSelf(p.ns, req.Netns); err != nil {
		return p, err
	}
	if err := checkIfName(p.ifname); err != nil {
		return p, err
	}
	if p.name == "" {
		p.name = defaultName(req.Netns)
	}
	if err := checkName("endpoint", p.name); err != nil {
		return p, err
	}
	if req.MAC != "" {
		if p.mac, err = net.ParseMAC(req.MAC); err != nil || len(p.mac) != 6 {
			return p, fmt.Errorf("bad MAC address %q", req.MAC)
		}
		if p.mac[0]&1 != 0 || isZero(p.mac) {
			return p, fmt.Errorf("MAC address %s is not a unicast address", p.mac)
		}
	}
	if req.IP != "" {
		if p.ip, err = netip.ParseAddr(req.IP); err != nil {
			return p, fmt.Errorf("bad IP address %q", req.IP)
		}
		if !n.subnet.Contains(p.ip) {
			return p, fmt.Errorf("address %s is outside the subnet %s of network %q", p.ip, n.subnet, n.name)
		}
	}
	if err := parseIP6(n, req, &p); err != nil {
		return p, err
	}
	if p.dhcp && p.mac == nil && n.pool6 != nil {
		// The SLAAC address the endpoint will configure follows from
		// its MAC: choose the MAC now to know it.
		if p.mac, err = randomMAC(); err != nil {
			return p, err
		}
	}
	if p.mtu == 0 {
		p.mtu = n.mtu
	}
	if p.mtu < tap.MinMTU || p.mtu > tap.MaxMTU {
		return p, fmt.Errorf("MTU %d out of range [%d, %d]", p.mtu, tap.MinMTU, tap.MaxMTU)
	}
	return p, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// connect opens the device and adds it to the network's switch.
func (d *Daemon) connect(n *network, p attachPlan, addr, addr6 netip.Addr) (*endpoint, error) {
	// The first network a namespace joins gives it the default route, as
	// in Docker, unless the namespace already has one of its own.
	defRoute := !p.dhcp && !d.nsHasEndpoint(p.ns) && !d.routes.hasDefault(p.nsPath)
	tc := tap.Config{
		Netns: p.nsPath, Name: p.ifname, MTU: p.mtu, MAC: p.mac,
		Plain:      d.cfg.PlainTAP,
		TxQueueLen: d.cfg.TxQueueLen,
		Persist:    d.saved != nil, // it survives a crash of the daemon
	}
	if !p.dhcp {
		tc.Addrs = []netip.Prefix{netip.PrefixFrom(addr, n.subnet.Bits())}
	}
	if defRoute {
		tc.Gateway = n.pool.Gateway()
	}
	n.tap6(&tc, addr6, p.dhcp, defRoute)
	dev, err := d.open(tc)
	if errors.Is(err, tap.ErrExists) {
		return nil, fmt.Errorf("%w: attach to network %q: %w", ErrConflict, n.name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("attach to network %q: %w", n.name, err)
	}
	mac := dev.MAC()
	id, err := n.sw.AddPort(dev, endpointPort(n, p, mac, addr, addr6))
	if err != nil {
		unpersist(dev)
		dev.Close()
		return nil, fmt.Errorf("attach to network %q: %w", n.name, portError(err))
	}
	ep := &endpoint{
		nsPath: p.nsPath, ns: p.ns, addr: addr, addr6: addr6, mac: mac, port: id, dev: dev,
		info: api.Endpoint{
			Name: p.name, Network: n.name, Netns: p.nsPath, IfName: p.ifname, MAC: mac.String(),
			IP: netip.PrefixFrom(addr, n.subnet.Bits()).String(), IP6: n.prefix6(addr6), MTU: p.mtu, DefaultRoute: defRoute,
			Offload: dev.Info().Offload, Aliases: p.aliases, DHCP: p.dhcp, PortSecurity: !p.noPortSecurity,
		},
	}
	// Replies from an address on a network without the default route
	// leave through that network (source routing).
	if !defRoute && !p.dhcp {
		if ep.info.SourceTable, err = d.routes.addSource(p.nsPath, p.ifname, ep.prefix(), n.pool.Gateway()); err != nil {
			unpersist(dev)
			n.sw.RemovePort(id)
			return nil, fmt.Errorf("attach to network %q: %w", n.name, err)
		}
	}
	return ep, nil
}

// Detach removes an endpoint: its TAP disappears and its address is freed.
func (d *Daemon) Detach(network, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(network)
	if err != nil {
		return err
	}
	ep, ok := n.endpoints[name]
	if !ok {
		return fmt.Errorf("%w: endpoint %q not found on network %q%s", ErrNotFound, name, network, n.netnsHint(name))
	}
	d.detach(n, ep)
	return nil
}

// netnsHint names the endpoint that a namespace spec given in place of
// an endpoint name (`detach NETWORK NETNS`, as attach takes it) stands
// for on n, or returns "" when it is not one of n's namespaces.
func (n *network) netnsHint(spec string) string {
	path, err := nsutil.Resolve(spec)
	if err != nil {
		return ""
	}
	for _, ep := range n.endpoints {
		if ep.info.Netns == path {
			return fmt.Sprintf("; netns %s is attached as %q: detach takes the endpoint's name (switchyard detach %s %s)", spec, ep.info.Name, n.name, ep.info.Name)
		}
	}
	return ""
}

// detach undoes connect; d.mu must be held. When the endpoint carried its
// namespace's default route, another of the namespace's networks takes it
// over (as Docker does on disconnect).
func (d *Daemon) detach(n *network, ep *endpoint) {
	rec := record(ep)
	d.overlayDetached(n, ep)
	delete(n.endpoints, ep.info.Name)
	d.detachResolvConf(ep)
	d.unpublishBackend(n.name, ep.addr)
	d.begin(rec) // a daemon killed from here on removes what is left
	if ep.info.SourceTable != 0 {
		if err := d.routes.delSource(ep.nsPath, ep.addr, ep.info.SourceTable); err != nil {
			d.cfg.Log.Warn("source route", "network", n.name, "endpoint", ep.info.Name, "err", err)
		}
	}
	if err := unpersist(ep.dev); err != nil {
		d.cfg.Log.Warn("TAP stays persistent", "network", n.name, "endpoint", ep.info.Name, "err", err)
	}
	if err := n.sw.RemovePort(ep.port); err != nil {
		d.cfg.Log.Warn("remove port", "network", n.name, "endpoint", ep.info.Name, "err", err)
	}
	n.pool.Release(ep.addr)
	n.release6(ep.addr6)
	n.publish()
	d.cfg.Log.Info("endpoint detached", "network", n.name, "endpoint", ep.info.Name)
	if ep.info.DefaultRoute && !d.closed {
		d.moveDefaultRoute(ep)
	}
	d.end(rec)
}

// moveDefaultRoute gives gone's default route to another endpoint of the
// same namespace, if any; d.mu must be held.
func (d *Daemon) moveDefaultRoute(gone *endpoint) {
	for _, n := range d.networks {
		for _, ep := range n.endpoints {
			if ep.ns != gone.ns {
				continue
			}
			if err := d.routes.setDefault(ep.nsPath, ep.info.IfName, n.pool.Gateway()); err != nil {
				d.cfg.Log.Warn("default route not moved", "endpoint", ep.info.Name, "err", err)
				return
			}
			ep.info.DefaultRoute = true
			if gw6 := n.gateway6(); gw6.IsValid() && ep.addr6.IsValid() && !ep.info.DHCP {
				if err := d.routes.setDefault(ep.nsPath, ep.info.IfName, gw6); err != nil {
					d.cfg.Log.Warn("IPv6 default route not moved", "endpoint", ep.info.Name, "err", err)
				}
			}
			d.cfg.Log.Info("default route moved", "network", n.name, "endpoint", ep.info.Name, "gateway", n.pool.Gateway())
			return
		}
	}
}

// reapPort detaches the endpoint behind a port that closed by itself (its
// interface was deleted). It runs on its own goroutine: the switch calls
// OnPortDown from the port's reader, which RemovePort waits for.
func (d *Daemon) reapPort(sw *vswitch.Switch, id vswitch.PortID, cause error) {
	d.reapers.Add(1)
	go func() {
		defer d.reapers.Done()
		d.detachWhere("port closed: "+cause.Error(), func(n *network, ep *endpoint) bool {
			return n.sw == sw && ep.port == id
		})
	}()
}

// detachWhere detaches every endpoint gone matches, logging why.
func (d *Daemon) detachWhere(why string, gone func(*network, *endpoint) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	for _, n := range d.networks {
		for _, ep := range n.endpoints {
			if gone(n, ep) {
				d.cfg.Log.Info("endpoint gone", "network", n.name, "endpoint", ep.info.Name, "why", why)
				d.detach(n, ep)
			}
		}
	}
}

// Endpoints lists endpoints of one network (all networks when empty).
func (d *Daemon) Endpoints(network string) ([]api.Endpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []api.Endpoint
	for _, n := range d.networks {
		if network != "" && n.name != network {
			continue
		}
		for _, ep := range n.endpoints {
			out = append(out, ep.info)
		}
	}
	out = append(out, d.remoteEndpoints(network)...)
	if network != "" {
		if _, err := d.network(network); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Network != out[j].Network {
			return out[i].Network < out[j].Network
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// nsHasEndpoint reports whether one of our endpoints already lives in the
// namespace (the first one gets the default route, as in Docker).
func (d *Daemon) nsHasEndpoint(ns nsKey) bool {
	for _, n := range d.networks {
		for _, ep := range n.endpoints {
			if ep.ns == ns {
				return true
			}
		}
	}
	return false
}

// freeIfName picks the lowest ethN not used by our endpoints nor present
// in the namespace.
func (d *Daemon) freeIfName(ns nsKey, nsPath string) (string, error) {
	used := map[string]bool{}
	for _, n := range d.networks {
		for _, ep := range n.endpoints {
			if ep.ns == ns {
				used[ep.info.IfName] = true
			}
		}
	}
	for i := range maxIfIndex {
		name := fmt.Sprintf("eth%d", i)
		if !used[name] && !linkExists(nsPath, name) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free interface name eth0-eth%d in %s", maxIfIndex-1, nsPath)
}

// maxIfIndex bounds the search for a free ethN name.
const maxIfIndex = 1024

// defaultName derives an endpoint name from a netns spec.
func defaultName(spec string) string {
	if pid, ok := strings.CutPrefix(spec, "pid:"); ok {
		return "pid-" + pid
	}
	// /proc/N/ns/net and /proc/N/task/T/ns/net name a process.
	if parts := strings.Split(filepath.Clean(spec), "/"); len(parts) >= 5 && parts[1] == "proc" && parts[len(parts)-1] == "net" {
		return "pid-" + parts[2]
	}
	return filepath.Base(spec)
}
