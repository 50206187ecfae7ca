package rootless

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
)

// OpenHostFwd starts one port forward (e.g. opens the host listener) and
// returns what stops it. The forward's ID is already set.
type OpenHostFwd func(fwd HostFwd) (io.Closer, error)

// HostFwdTable is a Forwarder that keeps the table and assigns the IDs
// (from 1, never reused, a failed add consumes none) and leaves opening
// and closing each forward to an OpenHostFwd function. It is safe for
// concurrent use.
type HostFwdTable struct {
	open OpenHostFwd

	mu      sync.Mutex
	nextID  int
	entries map[int]hostFwdEntry
}

type hostFwdEntry struct {
	fwd    HostFwd
	closer io.Closer
}

var _ Forwarder = (*HostFwdTable)(nil)

// NewHostFwdTable returns an empty table opening forwards with open.
func NewHostFwdTable(open OpenHostFwd) *HostFwdTable {
	return &HostFwdTable{open: open, nextID: 1, entries: map[int]hostFwdEntry{}}
}

// AddHostFwd opens a forward and records it under the next ID.
func (t *HostFwdTable) AddHostFwd(proto string, hostAddr netip.Addr, hostPort int, guestAddr netip.Addr, guestPort int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fwd := HostFwd{ID: t.nextID, Proto: proto, HostAddr: hostAddr, HostPort: hostPort, GuestAddr: guestAddr, GuestPort: guestPort}
	c, err := t.open(fwd)
	if err != nil {
		return 0, fmt.Errorf("add hostfwd %s %v:%d: %w", proto, hostAddr, hostPort, err)
	}
	t.nextID++
	t.entries[fwd.ID] = hostFwdEntry{fwd: fwd, closer: c}
	return fwd.ID, nil
}

// RemoveHostFwd closes the forward id and forgets it, even when closing
// fails (the error is returned).
func (t *HostFwdTable) RemoveHostFwd(id int) error {
	t.mu.Lock()
	e, ok := t.entries[id]
	delete(t.entries, id)
	t.mu.Unlock()
	if !ok {
		return fmt.Errorf("remove hostfwd %d: %w", id, ErrNoSuchHostFwd)
	}
	if e.closer == nil {
		return nil
	}
	if err := e.closer.Close(); err != nil {
		return fmt.Errorf("remove hostfwd %d: %w", id, err)
	}
	return nil
}

// ListHostFwd returns the forwards in ID order.
func (t *HostFwdTable) ListHostFwd() []HostFwd {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]HostFwd, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e.fwd)
	}
	slices.SortFunc(out, func(a, b HostFwd) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Close closes every forward and empties the table; IDs are still not
// reused afterwards.
func (t *HostFwdTable) Close() error {
	t.mu.Lock()
	entries := t.entries
	t.entries = map[int]hostFwdEntry{}
	t.mu.Unlock()
	var errs []error
	for _, e := range entries {
		if e.closer != nil {
			if err := e.closer.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close hostfwd %d: %w", e.fwd.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}
