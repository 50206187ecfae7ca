package daemon

import (
	"fmt"
	"net/netip"
	"sort"

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
	// backend6 is the endpoint's IPv6 address (zero when it has none):
	// the userspace path's IPv6 clients reach it.
	backend6 netip.Addr
	note     string         // why path is narrower than asked
	blocked  string         // at publish: why the kernel path cannot serve external clients
	rules    *portmap.Rules // the table kmap is in (kernel path)
	kmap     *portmap.Mapping
	ids      []proxy.ID
	// busy: a Publish or Unpublish is installing or removing this entry
	// without d.mu; it alone touches kmap and ids until it clears busy.
	busy bool
	// gone: the entry's endpoint, network or daemon went away while busy;
	// the owner removes what it installed.
	gone bool
}

func (p *published) key() string { return p.network + " " + p.spec.String() }

func (p *published) describe() api.Published {
	return api.Published{Network: p.network, Spec: p.spec.String(), Path: p.path, Backend: p.backend.String(), Note: p.note}
}

// Publish maps host ports to an endpoint's ports by the requested paths.
// The control lock is held only to check and record the request: the
// nftables transaction and the proxy's listeners are set up without it,
// so a large range never blocks other API calls.
func (d *Daemon) Publish(network string, req api.PublishRequest) (api.Published, error) {
	spec, path, note, err := parsePublish(req)
	if err != nil {
		return api.Published{}, err
	}
	p, n, err := d.reserve(network, spec, path, note)
	if err != nil {
		return api.Published{}, err
	}
	kmap, ids, repaired, err := d.install(n, p)
	d.mu.Lock()
	defer d.mu.Unlock()
	p.busy = false
	p.kmap, p.ids = kmap, ids
	if err == nil && p.gone {
		err = fmt.Errorf("%w: endpoint, network or daemon went away while publishing %s", ErrConflict, spec)
	}
	if err != nil {
		d.removeInstalled(p)
		delete(d.published, p.key())
		d.releaseKernelPath()
		return api.Published{}, err
	}
	d.save()
	d.cfg.Log.Info("port published", "network", network, "spec", spec.String(), "path", p.path, "backend", p.backend)
	if p.note != "" {
		d.cfg.Log.Warn("port published on a narrower path", "network", network, "spec", spec.String(), "why", p.note)
	}
	out := p.describe()
	out.Note = joinNotes(out.Note, p.blocked)
	if p.blocked != "" {
		d.cfg.Log.Warn("kernel path cannot serve external clients", "network", network, "spec", spec.String(), "why", p.blocked)
	}
	if repaired != "" {
		out.Note = joinNotes(out.Note, repaired)
	}
	return out, nil
}

// parsePublish checks a publish request.
func parsePublish(req api.PublishRequest) (portmap.Spec, string, string, error) {
	spec, err := portmap.ParseSpec(req.Spec)
	if err != nil {
		return portmap.Spec{}, "", "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	path := req.Path
	if path == "" {
		path = api.PathBoth
	}
	if path != api.PathBoth && path != api.PathKernel && path != api.PathUserspace {
		return portmap.Spec{}, "", "", fmt.Errorf("%w: path %q: want both, kernel or userspace", ErrInvalid, path)
	}
	note := ""
	if spec.HostIP.IsValid() && !spec.HostIP.Is4() {
		switch path {
		case api.PathKernel:
			return portmap.Spec{}, "", "", fmt.Errorf("%w: the kernel path is IPv4 only: use --path userspace (or both) for %s", ErrInvalid, spec.HostIP)
		case api.PathBoth:
			// What dockerd does for IPv6 without ip6tables: the proxy alone.
			path, note = api.PathUserspace, "the kernel path is IPv4 only: "+spec.HostIP.String()+" is served by the userspace path"
		}
	}
	return spec, path, note, nil
}

// Unpublish removes a published port mapping; like Publish it holds the
// control lock only to find and forget the entry.
func (d *Daemon) Unpublish(network, specText string) error {
	spec, err := portmap.ParseSpec(specText)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	d.mu.Lock()
	key := network + " " + spec.String()
	p, ok := d.published[key]
	if !ok || p.busy {
		d.mu.Unlock()
		if ok {
			return fmt.Errorf("%w: %s on network %q is being published or removed", ErrConflict, spec, network)
		}
		return fmt.Errorf("%w: %s is not published on network %q", ErrNotFound, spec, network)
	}
	p.busy = true
	d.mu.Unlock()
	d.removeInstalled(p)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.published, key)
	d.releaseKernelPath()
	d.save()
	return nil
}

// unpublishBackend drops the mappings to an address that went away; d.mu
// must be held.
func (d *Daemon) unpublishBackend(network string, addr netip.Addr) {
	d.dropPublished(func(p *published) bool { return p.network == network && p.backend == addr })
}

// dropPublished removes the mappings for which match is true (those being
// installed are marked for their owner to remove); d.mu must be held.
func (d *Daemon) dropPublished(match func(*published) bool) {
	for k, p := range d.published {
		if !match(p) {
			continue
		}
		if p.busy {
			p.gone = true
			continue
		}
		d.removeInstalled(p)
		delete(d.published, k)
	}
	d.releaseKernelPath()
}

// Ports lists published ports, with a note on each kernel-path mapping
// when the kernel path cannot serve external clients.
func (d *Daemon) Ports() []api.Published {
	d.mu.Lock()
	defer d.mu.Unlock()
	blocked := d.kernelBlocked()
	out := []api.Published{}
	for _, p := range d.published {
		if !p.busy {
			pi := p.describe()
			if p.path != api.PathUserspace {
				pi.Note = joinNotes(pi.Note, blocked)
			}
			if len(p.ids) > 0 {
				st := apiProxyStats(d.proxy.StatsOf(p.ids))
				pi.Proxy = &st
			}
			out = append(out, pi)
		}
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

// kernelBlocked is the note for kernel-path mappings when a foreign
// firewall stops the kernel path now ("" when nothing does); d.mu must
// be held.
func (d *Daemon) kernelBlocked() string {
	if d.rules == nil {
		return ""
	}
	f, err := d.rules.CheckFirewall()
	if err != nil {
		return "cannot tell whether a firewall stops the kernel path: " + err.Error()
	}
	if why := f.Blocked(); why != "" {
		return kernelBlockedNote(why)
	}
	return ""
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
