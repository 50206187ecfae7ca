package daemon

import (
	"time"
)

// DefaultNetnsCheck is how often the daemon checks that endpoints'
// namespaces still exist.
const DefaultNetnsCheck = 2 * time.Second

// watchNamespaces detaches endpoints whose namespace is gone. An open TAP
// holds a reference to its namespace, so the kernel never destroys a
// namespace the daemon is attached to: without this check, `ip netns del`
// or a container's last process exiting would leave the namespace, its TAP
// and the endpoint's address behind until a manual detach.
func (d *Daemon) watchNamespaces(every time.Duration, stop <-chan struct{}) {
	defer d.reapers.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.reapVanished()
			d.saveLeases()
		}
	}
}

// reapVanished detaches every endpoint whose namespace file no longer
// exists or now names another namespace.
func (d *Daemon) reapVanished() {
	d.detachWhere("namespace gone", func(_ *network, ep *endpoint) bool {
		key, err := nsIdentity(ep.nsPath)
		return err != nil || key != ep.ns
	})
}
