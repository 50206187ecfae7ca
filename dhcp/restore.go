package dhcp

import (
	"errors"
	"fmt"
	"time"
)

// Restore binds again the dynamic leases a previous server handed out (a
// daemon restarted after a crash), so their clients keep their addresses
// and renew them: each address is taken from the pool again. Static and
// expired leases are skipped; a lease that cannot be restored (outside the
// subnet, address or MAC already taken, the MaxLeases cap) is left out and
// reported in the joined error, the others are restored.
func (s *Server) Restore(ls []Lease, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if l.Static || !now.Before(l.Expires) {
			continue
		}
		if err := s.restore(l); err != nil {
			errs = append(errs, fmt.Errorf("dhcp: lease %s to %s not restored: %w", l.IP, l.MAC, err))
		}
	}
	return errors.Join(errs...)
}

// restore re-creates one bound dynamic lease; the caller holds s.mu.
func (s *Server) restore(l Lease) error {
	if len(l.MAC) != 6 {
		return fmt.Errorf("bad MAC %q", l.MAC)
	}
	mac := hwAddr(l.MAC)
	if _, has := s.leases[mac]; has {
		return fmt.Errorf("%s holds a lease already", mac)
	}
	if s.dynamic >= s.cfg.MaxLeases {
		return fmt.Errorf("%w: %d dynamic leases, the maximum", errExhausted, s.dynamic)
	}
	if err := s.reserve(l.IP); err != nil {
		return err
	}
	s.add(&lease{mac: mac, addr: l.IP, expires: l.Expires, bound: true})
	return nil
}
