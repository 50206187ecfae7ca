package daemon

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"sort"

	"github.com/switchyard/switchyard/state"
)

// persister is a Device whose interface can outlive it: a TAP. Endpoint
// TAPs are persistent while the daemon keeps state, so they survive a
// crash; detach clears the flag so closing the device removes them.
type persister interface {
	SetPersist(on bool) error
}

// unpersist makes a device's interface go with the device: called before
// closing an endpoint that is detached (or never got attached). A device
// already closed (its interface deleted under it) is not an error.
func unpersist(dev Device) error {
	p, ok := dev.(persister)
	if !ok {
		return nil
	}
	if err := p.SetPersist(false); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// openState opens and locks the daemon's state when cfg.StateDir is set,
// and returns what a previous daemon left (empty when nothing).
func (d *Daemon) openState() (state.State, error) {
	if d.cfg.StateDir == "" {
		return state.State{}, nil
	}
	s, err := state.Open(d.cfg.StateDir, state.Name(d.cfg.Socket))
	if err != nil {
		return state.State{}, err
	}
	st, found, err := s.Load()
	if err != nil {
		s.Close()
		return state.State{}, err
	}
	d.saved = s
	if found {
		d.cfg.Log.Info("state found: restoring", "file", s.Path(), "networks", len(st.Networks),
			"endpoints", len(st.Endpoints), "published", len(st.Published))
	}
	return st, nil
}

// save writes the daemon's state; d.mu must be held. A failed write is
// logged: the operation itself succeeded, and the next save retries.
func (d *Daemon) save() {
	if d.saved == nil {
		return
	}
	st := d.snapshot()
	if err := d.saved.Save(st); err != nil {
		d.cfg.Log.Error("state not saved: a restarted daemon would miss the last change", "err", err)
		return
	}
	d.savedLeases = st.Leases
}

// snapshot is the daemon's state as the state package stores it; d.mu
// must be held.
func (d *Daemon) snapshot() state.State {
	st := state.State{OldForward: d.oldForward}
	if d.rules != nil {
		st.OldForward = d.rules.OldForward()
	}
	for _, n := range d.networks {
		if !n.builtin { // a cluster's overlay networks are taken from the store again
			st.Networks = append(st.Networks, n.req)
		}
		for _, ep := range n.endpoints {
			st.Endpoints = append(st.Endpoints, record(ep))
		}
		st.Leases = append(st.Leases, n.leases()...)
	}
	for _, rec := range d.pending {
		st.Pending = append(st.Pending, rec)
	}
	for _, p := range d.published {
		st.Published = append(st.Published, state.Published{Network: p.network, Spec: p.spec.String(), Path: p.path})
	}
	slices.SortFunc(st.Leases, compareLease)
	sort.Slice(st.Networks, func(i, j int) bool { return st.Networks[i].Name < st.Networks[j].Name })
	byName := func(es []state.Endpoint) func(i, j int) bool {
		return func(i, j int) bool { return es[i].Network+" "+es[i].Name < es[j].Network+" "+es[j].Name }
	}
	sort.Slice(st.Endpoints, byName(st.Endpoints))
	sort.Slice(st.Pending, byName(st.Pending))
	sort.Slice(st.Published, func(i, j int) bool {
		return st.Published[i].Network+" "+st.Published[i].Spec < st.Published[j].Network+" "+st.Published[j].Spec
	})
	return st
}

// record is an endpoint as the state stores it.
func record(ep *endpoint) state.Endpoint {
	return state.Endpoint{Endpoint: ep.info, NetnsDev: ep.ns.dev, NetnsIno: ep.ns.ino}
}

// pendingKey names an interface being created or removed.
func pendingKey(rec state.Endpoint) string {
	return rec.Netns + " " + rec.IfName
}

// begin records that an endpoint's interface is about to be created or
// removed, and saves, so that a daemon killed before end removes what is
// left of it at the next start; d.mu must be held.
func (d *Daemon) begin(rec state.Endpoint) {
	if d.saved == nil {
		return
	}
	d.pending[pendingKey(rec)] = rec
	d.save()
}

// end forgets a pending interface and saves; d.mu must be held.
func (d *Daemon) end(rec state.Endpoint) {
	if d.saved == nil {
		return
	}
	delete(d.pending, pendingKey(rec))
	d.save()
}

// closeState ends the daemon's use of its state: kept for the next daemon
// with LiveRestore, removed otherwise; d.mu must be held.
func (d *Daemon) closeState(keep bool) {
	if d.saved == nil {
		return
	}
	var err error
	if keep {
		err = d.saved.Close()
	} else {
		err = d.saved.Remove()
	}
	if err != nil {
		d.cfg.Log.Warn("state", "err", err)
	}
	d.saved = nil
}

// prefixOf parses an endpoint's address with its prefix length.
func prefixOf(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	return p, err == nil && p.Addr().Is4()
}
