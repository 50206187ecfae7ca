package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"syscall"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
	"github.com/switchyard/switchyard/proxy"
)

// published is one publish request and what it installed.
type published struct {
	network string
	spec    portmap.Spec
	path    string
	backend netip.Addr
	note    string // why path is narrower than asked
	ids     []proxy.ID
	dnats   []portmap.DNAT
}

func (p *published) key() string { return p.network + " " + p.spec.String() }

func (p *published) describe() api.Published {
	return api.Published{Network: p.network, Spec: p.spec.String(), Path: p.path, Backend: p.backend.String(), Note: p.note}
}

// Publish maps host ports to an endpoint's ports by the requested paths.
func (d *Daemon) Publish(network string, req api.PublishRequest) (api.Published, error) {
	spec, err := portmap.ParseSpec(req.Spec)
	if err != nil {
		return api.Published{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	path := req.Path
	if path == "" {
		path = api.PathBoth
	}
	if path != api.PathBoth && path != api.PathKernel && path != api.PathUserspace {
		return api.Published{}, fmt.Errorf("%w: path %q: want both, kernel or userspace", ErrInvalid, path)
	}
	note := ""
	if spec.HostIP.IsValid() && !spec.HostIP.Is4() {
		switch path {
		case api.PathKernel:
			return api.Published{}, fmt.Errorf("%w: the kernel path is IPv4 only: use --path userspace (or both) for %s", ErrInvalid, spec.HostIP)
		case api.PathBoth:
			// What dockerd does for IPv6 without ip6tables: the proxy alone.
			path, note = api.PathUserspace, "the kernel path is IPv4 only: "+spec.HostIP.String()+" is served by the userspace path"
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(network)
	if err != nil {
		return api.Published{}, err
	}
	if n.up != nil {
		return api.Published{}, fmt.Errorf("%w: network %q is an uplink network: its endpoints are reachable on the LAN without publishing", ErrInvalid, n.name)
	}
	backend, err := n.resolve(spec.Endpoint)
	if err != nil {
		return api.Published{}, err
	}
	p := &published{network: network, spec: spec, path: path, backend: backend, note: note}
	if _, dup := d.published[p.key()]; dup {
		return api.Published{}, fmt.Errorf("%w: %s is already published on network %q", ErrConflict, spec, network)
	}
	if err := d.install(n, p); err != nil {
		d.uninstall(p)
		return api.Published{}, err
	}
	d.published[p.key()] = p
	d.save()
	d.cfg.Log.Info("port published", "network", network, "spec", spec.String(), "path", p.path, "backend", backend)
	if p.note != "" {
		d.cfg.Log.Warn("port published on a narrower path", "network", network, "spec", spec.String(), "why", p.note)
	}
	return p.describe(), nil
}

// install sets up a request's paths; on error the caller uninstalls.
func (d *Daemon) install(n *network, p *published) error {
	if p.path != api.PathUserspace {
		err := d.installDNAT(n, p)
		switch {
		case err != nil && p.path == api.PathBoth && !errors.Is(err, ErrConflict):
			// The kernel path is unavailable here; the userspace path
			// alone still serves every client.
			d.uninstall(p)
			p.path, p.note = api.PathUserspace, fmt.Sprintf("kernel path unavailable (%v): served by the userspace path alone", err)
		case err != nil:
			return err
		}
	}
	if p.path != api.PathKernel {
		return d.installProxy(n, p)
	}
	return nil
}

// installDNAT adds the kernel path's rules.
func (d *Daemon) installDNAT(n *network, p *published) error {
	if err := d.ensureHostPort(n); err != nil {
		return err
	}
	s := p.spec
	for i := range s.Count() {
		dn := portmap.DNAT{Proto: s.Proto, HostIP: s.HostIP, HostPort: s.HostPort + uint16(i),
			Dest: netip.AddrPortFrom(p.backend, s.Port+uint16(i))}
		if err := d.rules.AddDNAT(dn); err != nil {
			return err
		}
		p.dnats = append(p.dnats, dn)
	}
	return nil
}

// installProxy adds the userspace path's listeners: on the host address,
// or on 0.0.0.0 and [::] when none was given (as dockerd starts a proxy
// per address family). The IPv6 listener is skipped on hosts without IPv6.
func (d *Daemon) installProxy(n *network, p *published) error {
	s := p.spec
	listens := []netip.Addr{s.HostIP}
	if !s.HostIP.IsValid() {
		listens = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	}
	for _, listen := range listens {
		ids, err := d.proxy.AddRange(proxy.Mapping{Proto: proxy.Proto(s.Proto), Listen: netip.AddrPortFrom(listen, s.HostPort),
			Backend: netip.AddrPortFrom(p.backend, s.Port), Dialer: n.gw}, s.Count())
		if err != nil {
			if listen == netip.IPv6Unspecified() && noIPv6(err) {
				d.cfg.Log.Info("no IPv6 on this host: published port listens on IPv4 only", "spec", s.String(), "err", err)
				continue
			}
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
		p.ids = append(p.ids, ids...)
	}
	return nil
}

// noIPv6 reports whether err says the host has no IPv6 to listen on.
func noIPv6(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// uninstall removes what install set up.
func (d *Daemon) uninstall(p *published) {
	for _, dn := range p.dnats {
		if err := d.rules.DelDNAT(dn); err != nil {
			d.cfg.Log.Warn("unpublish", "rule", dn, "err", err)
		}
	}
	for _, id := range p.ids {
		d.proxy.Remove(id)
	}
	p.dnats, p.ids = nil, nil
}

// Unpublish removes a published port mapping.
func (d *Daemon) Unpublish(network, specText string) error {
	spec, err := portmap.ParseSpec(specText)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := network + " " + spec.String()
	p, ok := d.published[key]
	if !ok {
		return fmt.Errorf("%w: %s is not published on network %q", ErrNotFound, spec, network)
	}
	d.uninstall(p)
	delete(d.published, key)
	d.save()
	return nil
}

// unpublishBackend drops the mappings to an address that went away; d.mu
// must be held.
func (d *Daemon) unpublishBackend(network string, addr netip.Addr) {
	for k, p := range d.published {
		if p.network == network && p.backend == addr {
			d.uninstall(p)
			delete(d.published, k)
		}
	}
}

// Ports lists published ports.
func (d *Daemon) Ports() []api.Published {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []api.Published{}
	for _, p := range d.published {
		out = append(out, p.describe())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Network+out[i].Spec < out[j].Network+out[j].Spec })
	return out
}

// resolve finds a publish target: an endpoint name or an address in the
// network.
func (n *network) resolve(target string) (netip.Addr, error) {
	if ep, ok := n.endpoints[target]; ok {
		return ep.addr, nil
	}
	if a, err := netip.ParseAddr(target); err == nil {
		if !n.subnet.Contains(a) {
			return netip.Addr{}, fmt.Errorf("%w: %s is outside the subnet %s of network %q", ErrInvalid, a, n.subnet, n.name)
		}
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("%w: no endpoint %q on network %q", ErrNotFound, target, n.name)
}
