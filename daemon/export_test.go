package daemon

import (
	"fmt"

	"github.com/switchyard/switchyard/portmap"
)

// StopUserspacePath removes a published mapping's proxy listeners, as if
// dockerd's docker-proxy had died: the kernel path must then serve alone.
func (d *Daemon) StopUserspacePath(network, spec string) error {
	s, err := portmap.ParseSpec(spec)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.published[network+" "+s.String()]
	if !ok {
		return fmt.Errorf("%s is not published on %s", spec, network)
	}
	for _, id := range p.ids {
		d.proxy.Remove(id)
	}
	p.ids = nil
	return nil
}

// RulesOpen reports whether the daemon has opened its nftables table.
func (d *Daemon) RulesOpen() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rules != nil
}
