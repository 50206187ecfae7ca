package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"
)

// errExhausted is wrapped when no address is left for a new client;
// errSourceCapped when the client's port holds its share already.
var (
	errExhausted    = errors.New("no address left")
	errSourceCapped = errors.New("leases per source MAC")
)

// hwAddr is an Ethernet address usable as a map key.
type hwAddr [6]byte

func (h hwAddr) String() string { return net.HardwareAddr(h[:]).String() }

// lease is a client's hold on an address: offered until a REQUEST binds it.
type lease struct {
	mac     hwAddr
	addr    netip.Addr
	expires time.Time
	bound   bool // a REQUEST was ACKed; false while only offered
	static  bool // the endpoint's fixed address, never the pool's to release
	src     hwAddr
}

// staticAddr is what the static callback said about a client.
type staticAddr struct {
	addr netip.Addr
	ok   bool
}

// Lease describes a bound lease, as listed by Server.Leases.
type Lease struct {
	// MAC is the client's hardware address (chaddr).
	MAC net.HardwareAddr
	// IP is the leased address.
	IP netip.Addr
	// Expires is when the lease runs out unless the client renews it.
	Expires time.Time
	// Static marks the fixed address of an endpoint attached with one.
	Static bool
}

// Leases returns the bound leases ordered by address. Pending offers are
// left out.
func (s *Server) Leases() []Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Lease, 0, len(s.leases))
	for _, l := range s.leases {
		if l.bound {
			mac := l.mac
			out = append(out, Lease{MAC: net.HardwareAddr(mac[:]), IP: l.addr, Expires: l.expires, Static: l.static})
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return a.IP.Compare(b.IP) })
	return out
}

// add records l. The caller holds s.mu, as for every method below.
func (s *Server) add(l *lease) {
	s.leases[l.mac] = l
	s.byAddr[l.addr] = l.mac
	if !l.static {
		s.dynamic++
		s.perSrc[l.src]++
	}
}

// remove forgets l; a dynamic lease's address goes back to the pool when
// release is set. A static address is never released.
func (s *Server) remove(l *lease, release bool) {
	delete(s.leases, l.mac)
	delete(s.byAddr, l.addr)
	if l.static {
		return
	}
	s.dynamic--
	if s.perSrc[l.src]--; s.perSrc[l.src] <= 0 {
		delete(s.perSrc, l.src)
	}
	if release {
		s.pool.Release(l.addr)
	}
}

// expire drops the leases that ran out, except keep's (a client asking
// again gets its old address back), and frees declined addresses whose
// hold is over.
func (s *Server) expire(now time.Time, keep *hwAddr) {
	for mac, l := range s.leases {
		if (keep != nil && mac == *keep) || now.Before(l.expires) {
			continue
		}
		lvl := slog.LevelDebug
		if l.bound {
			lvl = slog.LevelInfo
		}
		s.log.Log(context.Background(), lvl, "dhcp: lease expired", "mac", mac.String(), "ip", l.addr, "bound", l.bound, "static", l.static)
		s.remove(l, true)
	}
	for a, until := range s.declined {
		if !now.Before(until) {
			delete(s.declined, a)
			s.pool.Release(a)
		}
	}
}

// usable reports why a can never be leased, or nil.
func (s *Server) usable(a netip.Addr) error {
	switch {
	case !a.Is4() || !s.cfg.Subnet.Contains(a):
		return fmt.Errorf("address %s is outside %s", a, s.cfg.Subnet)
	case a == s.cfg.Subnet.Addr() || a == s.bcast:
		return fmt.Errorf("address %s is the network or broadcast address", a)
	case a == s.cfg.ServerIP || a == s.cfg.Router:
		return fmt.Errorf("address %s is the gateway's", a)
	}
	return nil
}

// reserve takes a chosen address from the pool.
func (s *Server) reserve(a netip.Addr) error {
	if err := s.usable(a); err != nil {
		return err
	}
	if err := s.checkHolder(a); err != nil {
		return err
	}
	if _, held := s.declined[a]; held {
		return fmt.Errorf("address %s was declined as in use", a)
	}
	if err := s.pool.Reserve(a); err != nil {
		return fmt.Errorf("address %s: %w", a, err)
	}
	s.forgetStatic(a)
	return nil
}

// checkHolder fails when a dynamic lease holds a. A binding to a fixed
// address does not count: the pool decides whether its endpoint still
// holds it.
func (s *Server) checkHolder(a netip.Addr) error {
	if owner, held := s.byAddr[a]; held && !s.leases[owner].static {
		return fmt.Errorf("address %s is leased to %s", a, owner)
	}
	return nil
}

// forgetStatic drops a binding to a fixed address the pool just handed out
// again: its endpoint was detached and released the address.
func (s *Server) forgetStatic(a netip.Addr) {
	if owner, held := s.byAddr[a]; held {
		s.log.Debug("dhcp: forgot the binding of a released fixed address", "mac", owner.String(), "ip", a)
		s.remove(s.leases[owner], false)
	}
}

// allocate takes an address for mac, which holds no address from the pool
// yet or is moving off the one it holds: want if it is free, or else, when
// lowest is set, the pool's lowest free address.
func (s *Server) allocate(mac hwAddr, want netip.Addr, lowest bool, now time.Time) (netip.Addr, error) {
	s.expire(now, &mac)
	if _, has := s.leases[mac]; !has && s.dynamic >= s.cfg.MaxLeases {
		return netip.Addr{}, fmt.Errorf("%w: %d dynamic leases, the maximum", errExhausted, s.dynamic)
	}
	if _, has := s.leases[mac]; !has && s.perSrc[s.src] >= s.cfg.MaxPerSource {
		return netip.Addr{}, fmt.Errorf("%w: %d %w %s, the maximum", errExhausted, s.perSrc[s.src], errSourceCapped, s.src)
	}
	if want.IsValid() {
		err := s.reserve(want)
		if err == nil || !lowest {
			return want, err
		}
	}
	for {
		a, err := s.pool.Allocate()
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w: %w", errExhausted, err)
		}
		err = s.usable(a)
		if err == nil {
			err = s.checkHolder(a)
		}
		if err == nil {
			s.forgetStatic(a)
			return a, nil
		}
		// The pool disagrees with the server. The address stays taken in
		// the pool, so the loop ends and nothing is handed out twice.
		s.log.Error("dhcp: pool allocated an address that cannot be leased", "err", err)
	}
}

// claimStatic returns mac's binding to its fixed address, creating it.
func (s *Server) claimStatic(mac hwAddr, addr netip.Addr, now time.Time) (*lease, error) {
	if err := s.usable(addr); err != nil {
		return nil, fmt.Errorf("fixed address: %w", err)
	}
	if owner, held := s.byAddr[addr]; held && owner != mac {
		o := s.leases[owner]
		if !o.static {
			return nil, fmt.Errorf("fixed address %s is leased to %s", addr, owner)
		}
		// A detached endpoint's binding; the address now belongs to mac.
		s.remove(o, false)
	}
	if l := s.leases[mac]; l != nil && (!l.static || l.addr != addr) {
		// A dynamic lease from before the endpoint got its fixed address,
		// or a binding to an old fixed address.
		s.remove(l, l.addr != addr)
	}
	l := s.leases[mac]
	if l == nil {
		l = &lease{mac: mac, addr: addr, static: true, expires: now.Add(OfferTimeout)}
		s.add(l)
	}
	return l, nil
}

// dropStaleStatic forgets mac's binding to a fixed address it no longer has.
func (s *Server) dropStaleStatic(mac hwAddr) {
	if l := s.leases[mac]; l != nil && l.static {
		s.remove(l, false)
	}
}
