package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/capture"
	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/ipam"
	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/portmap"
	"github.com/switchyard/switchyard/proxy"
	"github.com/switchyard/switchyard/state"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/tap"
	"github.com/switchyard/switchyard/uplink"
)

// Errors the API maps to HTTP statuses; every daemon error wraps one.
var (
	ErrInvalid  = errors.New("invalid request")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrUnavailable is returned while the daemon shuts down.
	ErrUnavailable = errors.New("unavailable")
)

// routeOps reads and sets namespaces' default routes and endpoints'
// source routing; tests replace it.
type routeOps struct {
	hasDefault func(nsPath string) bool
	setDefault func(nsPath, ifname string, gw netip.Addr) error
	// addSource gives an endpoint without the default route its source
	// rule and table (see addSourceRoute) and returns the table.
	addSource func(nsPath, ifname string, addr netip.Prefix, gw netip.Addr) (int, error)
	// delSource removes what addSource installed; table 0 means
	// whichever table the rules from addr select.
	delSource func(nsPath string, addr netip.Addr, table int) error
	// removeTAP deletes a TAP a previous daemon left (see tap.Remove).
	removeTAP func(nsPath, ifname string) (bool, error)
}

// realRoutes are the routeOps acting on real namespaces.
var realRoutes = routeOps{hasDefault: hasDefaultRoute, setDefault: setDefaultRoute,
	addSource: addSourceRoute, delSource: delSourceRoute, removeTAP: tap.Remove}

// Device is an endpoint's port as the daemon needs it: a TAP device, or a
// fake in tests.
type Device interface {
	port.Port
	MAC() net.HardwareAddr
}

// OpenFunc creates an endpoint's device; tests replace the TAP opener.
type OpenFunc func(tap.Config) (Device, error)

// OpenTAP opens a real TAP device.
func OpenTAP(c tap.Config) (Device, error) {
	d, err := tap.Open(c)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Daemon holds the networks and endpoints. Its methods are safe for
// concurrent use; control operations are serialised by one mutex (the
// data path never takes it).
type Daemon struct {
	cfg  Config
	open OpenFunc

	routes   routeOps
	netnsEtc string // DefaultNetnsEtc; tests point it elsewhere

	mu       sync.Mutex
	networks map[string]*network
	vlanSw   *vswitch.Switch // shared by every network with a VLAN ID
	subnets  atomic.Pointer[[]netip.Prefix]
	hubs     map[*vswitch.Switch]*capture.Hub
	pcap     *capture.File // up --pcap

	proxy       *proxy.Proxy   // userspace path of published ports
	rules       *portmap.Rules // kernel path; nil while no mapping uses it
	published   map[string]*published
	ov          *overlayState             // overlay networks: VXLAN sockets, cluster store
	uplinks     map[string]*uplink.Parent // uplink networks' host interfaces by name
	saved       *state.Store              // the daemon's state on disk; nil: none kept
	pending     map[string]state.Endpoint // interfaces being created or removed
	savedLeases []state.Lease             // DHCP leases as last saved
	oldForward  string                    // ip_forward recorded in the saved state
	closed      bool
	stop        chan struct{}  // closed by Close: stops the namespace watcher
	reapers     sync.WaitGroup // the watcher and goroutines reaping vanished ports
}

// New builds a daemon with the configured built-in networks. open nil means
// OpenTAP.
func New(cfg Config, open OpenFunc) (*Daemon, error) {
	return newDaemon(cfg, open, realRoutes)
}

// newDaemon is New with the namespace operations given (tests fake them).
func newDaemon(cfg Config, open OpenFunc, routes routeOps) (*Daemon, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if open == nil {
		open = OpenTAP
	}
	d := &Daemon{cfg: cfg, open: open, networks: map[string]*network{},
		routes: routes, netnsEtc: DefaultNetnsEtc,
		proxy: proxy.New(proxy.Config{UDPIdleTimeout: time.Duration(cfg.ProxyUDPIdle), UDPMaxFlows: cfg.ProxyMaxFlows,
			DialTimeout: time.Duration(cfg.ProxyDialTimeout)}, cfg.Log),
		published: map[string]*published{}, ov: newOverlayState(), pending: map[string]state.Endpoint{}}
	d.subnets.Store(&[]netip.Prefix{})
	if cfg.PcapFile != "" {
		var err error
		if d.pcap, err = capture.CreateFile(cfg.PcapFile, true); err != nil {
			return nil, err
		}
	}
	st, err := d.openState()
	if err != nil {
		d.Close()
		return nil, err
	}
	for _, nc := range cfg.Networks {
		if _, err := d.createNetwork(nc, true); err != nil {
			d.closeState(true) // what a predecessor left stays
			d.Close()
			return nil, fmt.Errorf("network %q: %w", nc.Name, err)
		}
	}
	if err := d.openCluster(); err != nil {
		d.closeState(true)
		d.Close()
		return nil, err
	}
	d.restore(st)
	d.republishOverlay()
	d.stop = make(chan struct{})
	d.reapers.Add(1)
	go d.watchNamespaces(time.Duration(cfg.NetnsCheck), d.stop)
	return d, nil
}

// Config returns the daemon's effective configuration.
func (d *Daemon) Config() Config { return d.cfg }

// newSwitch starts a switch whose ports that vanish are reaped.
func (d *Daemon) newSwitch(name string) *vswitch.Switch {
	var sw *vswitch.Switch
	sw = vswitch.New(vswitch.Config{
		Name: name, AgeingTime: time.Duration(d.cfg.AgeingTime), MaxEntries: d.cfg.FDBMax,
		QueueLen: d.cfg.QueueLen, Log: d.cfg.Log,
		OnPortDown: func(id vswitch.PortID, err error) { d.reapPort(sw, id, err) },
	})
	return sw
}

// CreateNetwork creates a user-defined network.
func (d *Daemon) CreateNetwork(req api.NetworkCreate) (api.Network, error) {
	req, err := normalizeUplink(req)
	if err != nil {
		return api.Network{}, err
	}
	if req.Driver == api.DriverOverlay {
		return d.createOverlay(req)
	}
	return d.createNetwork(req, false)
}

func (d *Daemon) createNetwork(req api.NetworkCreate, builtin bool) (api.Network, error) {
	subnet, gw, err := parseNetwork(req)
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	pool, err := ipam.New(subnet, gw)
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	v6, err := planIPv6(&req)
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: network %q: %w", ErrInvalid, req.Name, err)
	}
	ov, err := d.planOverlay(req)
	if err != nil {
		return api.Network{}, err
	}
	up, err := planUplink(req, subnet, gw)
	if err == nil && up != nil {
		pool, err = up.newPool(subnet, gw)
	}
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: network %q: %w", ErrInvalid, req.Name, err)
	}
	// An uplink network is the host's LAN by design: only the always
	// reserved space is refused for it.
	for _, sn := range []netip.Prefix{subnet, v6.subnet} {
		if !sn.IsValid() {
			continue
		}
		if err := checkSubnetUse(sn, up == nil && !builtin && !req.AllowOverlap); err != nil {
			return api.Network{}, fmt.Errorf("%w: network %q: %w", ErrConflict, req.Name, err)
		}
	}
	ds, err := planDHCP(req, subnet, builtin)
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: network %q: %w", ErrInvalid, req.Name, err)
	}
	if up != nil {
		ds = dhcpSetup{} // the LAN has its own DHCP server
	}
	ds = ov.dhcp(ds)
	dyn, err := dynamicPool(pool, ds)
	if err != nil {
		return api.Network{}, fmt.Errorf("%w: network %q: %w", ErrInvalid, req.Name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return api.Network{}, fmt.Errorf("%w: daemon is shutting down", ErrUnavailable)
	}
	if _, ok := d.networks[req.Name]; ok {
		return api.Network{}, fmt.Errorf("%w: network %q already exists", ErrConflict, req.Name)
	}
	if o := d.overlaps6(v6.subnet); o != nil {
		return api.Network{}, fmt.Errorf("%w: subnet %s overlaps network %q (%s)", ErrConflict, v6.subnet, o.name, o.subnet6)
	}
	for _, o := range d.networks {
		if o.subnet.Overlaps(subnet) {
			return api.Network{}, fmt.Errorf("%w: subnet %s overlaps network %q (%s)", ErrConflict, subnet, o.name, o.subnet)
		}
		if req.VLAN != 0 && o.vlan == req.VLAN {
			return api.Network{}, fmt.Errorf("%w: vlan %d is used by network %q", ErrConflict, req.VLAN, o.name)
		}
	}
	n := &network{req: req, name: req.Name, subnet: subnet, vlan: req.VLAN, builtin: builtin, pool: pool, dhcp: ds, dyn: dyn,
		subnet6: v6.subnet, pool6: v6.pool,
		endpoints: map[string]*endpoint{}, mtu: req.MTU, dnsNames: up.resolves(!builtin || d.cfg.DNSNames), ov: ov, up: up}
	if n.mtu == 0 && ov != nil {
		n.mtu = d.overlayMTU(ov)
	}
	if n.mtu == 0 {
		n.mtu = 1500
	}
	if req.VLAN == 0 {
		n.sw = d.newSwitch(req.Name)
	} else {
		if d.vlanSw == nil {
			d.vlanSw = d.newSwitch("vlans")
		}
		n.sw = d.vlanSw
	}
	d.networks[req.Name] = n
	d.refreshSubnets()
	if d.pcap != nil {
		d.hub(n.sw, hubName(n)).Add(d.pcap.Session(), nil)
	}
	if err := d.startGateway(n, req); err != nil {
		d.dropNetwork(n)
		return api.Network{}, err
	}
	if err := d.startOverlay(n); err != nil {
		d.stopGateway(n)
		d.dropNetwork(n)
		return api.Network{}, err
	}
	if err := d.startUplink(n); err != nil {
		d.stopGateway(n)
		d.dropNetwork(n)
		return api.Network{}, err
	}
	d.cfg.Log.Info("network created", "network", n.name, "subnet", subnet, "gateway", pool.Gateway(),
		"subnet6", n.subnet6, "gateway6", n.gateway6(), "vlan", n.vlan)
	d.save()
	return n.describe(), nil
}

// RemoveNetwork removes a user-defined network without endpoints.
func (d *Daemon) RemoveNetwork(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(name)
	if err != nil {
		return err
	}
	if n.builtin {
		return fmt.Errorf("%w: %q is a pre-defined network and cannot be removed", ErrConflict, name)
	}
	if len(n.endpoints) > 0 {
		return fmt.Errorf("%w: network %q has active endpoints", ErrConflict, name)
	}
	if err := d.removeOverlay(n); err != nil {
		return err
	}
	d.dropPublished(func(p *published) bool { return p.network == name })
	d.removeHostPort(n)
	d.stopGateway(n)
	d.stopUplink(n)
	d.dropNetwork(n)
	d.cfg.Log.Info("network removed", "network", name)
	d.save()
	return nil
}

// dropNetwork forgets a network without endpoints and stops its switch
// (or the shared VLAN switch when it was the last VLAN network); d.mu must
// be held.
func (d *Daemon) dropNetwork(n *network) {
	delete(d.networks, n.name)
	d.refreshSubnets()
	if n.vlan == 0 {
		delete(d.hubs, n.sw)
		n.sw.Close()
	} else if !d.hasVLANNetworks() {
		d.vlanSw.Close()
		d.vlanSw = nil
	}
}

// Networks lists the networks sorted by name.
func (d *Daemon) Networks() []api.Network {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]api.Network, 0, len(d.networks))
	for _, n := range d.networks {
		out = append(out, n.describe())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// network returns a network by name; d.mu must be held.
func (d *Daemon) network(name string) (*network, error) {
	n, ok := d.networks[name]
	if !ok {
		return nil, fmt.Errorf("%w: network %q not found", ErrNotFound, name)
	}
	return n, nil
}

func (d *Daemon) hasVLANNetworks() bool {
	for _, n := range d.networks {
		if n.vlan != 0 {
			return true
		}
	}
	return false
}

// Close detaches every endpoint (removing its TAP) and stops the switches.
// With LiveRestore it leaves the endpoints' TAPs (persistent, configured)
// and the state in place for the next daemon instead.
func (d *Daemon) Close() {
	defer d.reapers.Wait()
	d.closeCluster()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil && !d.closed {
		close(d.stop)
	}
	d.closed = true
	keep := d.cfg.LiveRestore && d.saved != nil
	if keep {
		d.save() // published mappings are re-installed by the next daemon
	}
	d.closePublishing()
	for _, n := range d.networks {
		for _, ep := range n.endpoints {
			if !keep {
				d.detach(n, ep)
			}
		}
		d.stopGateway(n)
		d.stopUplink(n)
		if n.vlan == 0 {
			n.sw.Close()
		}
	}
	if d.vlanSw != nil {
		d.vlanSw.Close()
	}
	d.networks = map[string]*network{}
	d.closeState(keep)
	if d.pcap != nil {
		for _, h := range d.hubs {
			h.Remove(d.pcap.Session())
		}
		if err := d.pcap.Close(); err != nil {
			d.cfg.Log.Warn("pcap file", "err", err)
		}
		d.pcap = nil
	}
}

// network is one broadcast domain with its address pool, endpoints and
// gateway.
type network struct {
	req       api.NetworkCreate // as created, for the state
	name      string
	subnet    netip.Prefix
	subnet6   netip.Prefix // zero: IPv4 only
	vlan      uint16
	mtu       int
	builtin   bool
	dnsNames  bool
	sw        *vswitch.Switch
	ov        *overlayNet // nil for a bridge network
	up        *uplinkNet  // nil unless an uplink network
	pool      *ipam.Pool
	pool6     *ipam.Pool6 // nil: IPv4 only
	dhcp      dhcpSetup
	dyn       dhcpPool // dynamic DHCP leases, apart from pool
	endpoints map[string]*endpoint

	gw                *gateway.Gateway
	gwPort            vswitch.PortID
	gwMAC             net.HardwareAddr
	svc               *services
	allowHostLoopback bool
	host              *hostPort // kernel path of published ports
}

func (n *network) describe() api.Network {
	out := api.Network{Name: n.name, Subnet: n.subnet.String(), Gateway: n.pool.Gateway().String(),
		GatewayMAC: n.gwMAC.String(), VLAN: n.vlan, MTU: n.mtu, AllowHostLoopback: n.allowHostLoopback,
		DNSNames: n.dnsNames, Builtin: n.builtin, Endpoints: len(n.endpoints)}
	n.describe6(&out)
	n.describeDHCP(&out)
	n.describeOverlay(&out)
	n.describeUplink(&out)
	return out
}
