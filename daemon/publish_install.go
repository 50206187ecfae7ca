package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
	"github.com/switchyard/switchyard/proxy"
)

// reserve checks a publish request and records it as busy, setting up the
// network's host port when the kernel path is asked for; it returns the
// entry and its network.
func (d *Daemon) reserve(network string, spec portmap.Spec, path, note string) (*published, *network, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, nil, fmt.Errorf("%w: daemon is shutting down", ErrUnavailable)
	}
	n, err := d.network(network)
	if err != nil {
		return nil, nil, err
	}
	if n.up != nil {
		return nil, nil, fmt.Errorf("%w: network %q is an uplink network: its endpoints are reachable on the LAN without publishing", ErrInvalid, n.name)
	}
	backend, err := n.resolve(spec.Endpoint)
	if err != nil {
		return nil, nil, err
	}
	p := &published{network: network, spec: spec, path: path, backend: backend, backend6: n.backend6(backend), note: note, busy: true}
	if _, dup := d.published[p.key()]; dup {
		return nil, nil, fmt.Errorf("%w: %s is already published on network %q", ErrConflict, spec, network)
	}
	if p.path != api.PathUserspace {
		if err := d.checkOverlap(p); err != nil {
			return nil, nil, err
		}
	}
	if p.path != api.PathKernel {
		if err := checkFDs(spec); err != nil {
			return nil, nil, err
		}
	}
	if err := d.prepareKernelPath(n, p); err != nil {
		return nil, nil, err
	}
	d.published[p.key()] = p
	return p, n, nil
}

// prepareKernelPath gives a kernel-path request its network's host port
// and the rules, or falls back to the userspace path for `both` where the
// kernel path is unavailable; d.mu must be held.
func (d *Daemon) prepareKernelPath(n *network, p *published) error {
	if p.path == api.PathUserspace {
		return nil
	}
	err := d.ensureHostPort(n)
	switch {
	case err != nil && p.path == api.PathBoth && !errors.Is(err, ErrConflict):
		// The kernel path is unavailable here; the userspace path alone
		// still serves every client.
		p.path, p.note = api.PathUserspace, fmt.Sprintf("kernel path unavailable (%v): served by the userspace path alone", err)
		d.releaseKernelPath()
	case err != nil:
		d.releaseKernelPath()
		return err
	default:
		p.rules = d.rules
		d.passFirewall(p)
	}
	return nil
}

// passFirewall lets the kernel path's forwarded flows through a foreign
// forward-hook drop policy (Docker's FORWARD chain) where it can; where
// it cannot, `both` falls back to the userspace path and `kernel` keeps
// serving host-local clients with a note; d.mu must be held.
func (d *Daemon) passFirewall(p *published) {
	f, err := d.rules.PassFirewall()
	why := f.Blocked()
	if err != nil || why == "" {
		return
	}
	if p.path == api.PathBoth {
		p.path, p.rules = api.PathUserspace, nil
		p.note = joinNotes(p.note, "the kernel path cannot serve external clients here ("+why+"): served by the userspace path alone")
		d.releaseKernelPath()
		return
	}
	p.blocked = kernelBlockedNote(why)
}

// kernelBlockedNote is the note on a kernel-path mapping a foreign
// firewall stops.
func kernelBlockedNote(why string) string {
	return "the kernel path cannot serve external clients: " + why + "; it serves host-local clients of the host's own addresses"
}

// installLocked installs p at once with d.mu held: for restoring mappings
// at start-up, before any API call can run.
func (d *Daemon) installLocked(n *network, p *published) error {
	if p.path != api.PathUserspace {
		if err := d.checkOverlap(p); err != nil {
			return err
		}
	}
	if err := d.prepareKernelPath(n, p); err != nil {
		return err
	}
	var err error
	p.kmap, p.ids, _, err = d.install(n, p)
	if err != nil {
		d.removeInstalled(p)
		d.releaseKernelPath()
	}
	return err
}

// checkOverlap refuses a kernel-path mapping whose host ports catch
// packets another one already catches; d.mu must be held.
func (d *Daemon) checkOverlap(p *published) error {
	m := portmap.MappingOf(p.spec, p.backend)
	for _, o := range d.published {
		if o.path != api.PathUserspace && portmap.MappingOf(o.spec, o.backend).Overlaps(m) {
			return fmt.Errorf("%w: %s overlaps %s published on network %q", ErrConflict, p.spec, o.spec, o.network)
		}
	}
	return nil
}

// install sets up a reserved request's paths without d.mu and returns what
// it installed; on error the caller removes that.
func (d *Daemon) install(n *network, p *published) (kmap *portmap.Mapping, ids []proxy.ID, repaired string, err error) {
	if p.path != api.PathUserspace {
		m := portmap.MappingOf(p.spec, p.backend)
		if repaired, err = p.rules.Add(m); err != nil {
			return nil, nil, "", fmt.Errorf("kernel path: %w", err)
		}
		if repaired != "" {
			d.cfg.Log.Warn("kernel path repaired", "what", repaired)
		}
		kmap = &m
	}
	if p.path != api.PathKernel {
		ids, err = d.installProxy(n, p)
	}
	return kmap, ids, repaired, err
}

// installProxy adds the userspace path's listeners: on the host address,
// or on 0.0.0.0 and [::] when none was given (as dockerd starts a proxy
// per address family). The IPv6 listener is skipped on hosts without IPv6.
func (d *Daemon) installProxy(n *network, p *published) ([]proxy.ID, error) {
	s := p.spec
	var all []proxy.ID
	for _, listen := range listenAddrs(s) {
		ids, err := d.proxy.AddRange(proxy.Mapping{Proto: proxy.Proto(s.Proto), Listen: netip.AddrPortFrom(listen, s.HostPort),
			Backend: netip.AddrPortFrom(p.backend, s.Port), Dialer: dualDialer{n.gw, p.backend6}}, s.Count())
		switch {
		case err != nil && listen == netip.IPv6Unspecified() && noIPv6(err):
			d.cfg.Log.Info("no IPv6 on this host: published port listens on IPv4 only", "spec", s.String(), "err", err)
		case err != nil && (errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)):
			return all, fmt.Errorf("%w: userspace path: out of file descriptors opening %s: %w", ErrUnavailable, s, err)
		case err != nil:
			return all, fmt.Errorf("%w: %w", ErrConflict, err)
		default:
			all = append(all, ids...)
		}
	}
	return all, nil
}

// listenAddrs are the addresses the userspace path listens on for s.
func listenAddrs(s portmap.Spec) []netip.Addr {
	if s.HostIP.IsValid() {
		return []netip.Addr{s.HostIP}
	}
	return []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
}

// noIPv6 reports whether err says the host has no IPv6 to listen on.
func noIPv6(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// removeInstalled removes a mapping's kernel rule and proxy listeners.
func (d *Daemon) removeInstalled(p *published) {
	if p.kmap != nil {
		if repaired, err := p.rules.Del(*p.kmap); err != nil {
			d.cfg.Log.Warn("unpublish", "mapping", p.kmap.String(), "err", err)
		} else if repaired != "" {
			d.cfg.Log.Warn("kernel path repaired", "what", repaired)
		}
	}
	for _, id := range p.ids {
		d.proxy.Remove(id)
	}
	p.kmap, p.ids = nil, nil
}
