package dhcp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// The message handlers below run with s.mu held; a nil reply means silence.

// discover answers DHCPDISCOVER with an offer of the client's fixed
// address, its current lease, the address it asks for if free, or the
// lowest free one.
func (s *Server) discover(req *dhcpv4.DHCPv4, mac hwAddr, st staticAddr) *dhcpv4.DHCPv4 {
	s.stats.Discovers++
	addr, err := s.offerAddr(req, mac, st, s.cfg.Now())
	if err != nil {
		s.countExhausted(err)
		s.log.Warn("dhcp: no address to offer", "mac", mac.String(), "err", err)
		return nil
	}
	s.stats.Offers++
	s.log.Debug("dhcp: offer", "mac", mac.String(), "ip", addr)
	return s.reply(req, dhcpv4.MessageTypeOffer, addr)
}

func (s *Server) offerAddr(req *dhcpv4.DHCPv4, mac hwAddr, st staticAddr, now time.Time) (netip.Addr, error) {
	if st.ok {
		l, err := s.claimStatic(mac, st.addr, now)
		if err != nil {
			return netip.Addr{}, err
		}
		return l.addr, nil
	}
	s.dropStaleStatic(mac)
	hold := now.Add(OfferTimeout)
	if l := s.leases[mac]; l != nil {
		if l.expires.Before(hold) {
			l.expires = hold
		}
		return l.addr, nil
	}
	want, _ := optAddr(req.Options, dhcpv4.OptionRequestedIPAddress)
	a, err := s.allocate(mac, want, true, now)
	if err != nil {
		return netip.Addr{}, err
	}
	s.add(&lease{mac: mac, addr: a, expires: hold, src: s.src})
	return a, nil
}

// request answers DHCPREQUEST in the SELECTING (server identifier set),
// INIT-REBOOT (requested address set) and RENEWING or REBINDING (ciaddr
// set) states with an ACK binding the address, or a NAK.
func (s *Server) request(req *dhcpv4.DHCPv4, mac hwAddr, st staticAddr) *dhcpv4.DHCPv4 {
	s.stats.Requests++
	sid, hasSID := optAddr(req.Options, dhcpv4.OptionServerIdentifier)
	want, hasWant := optAddr(req.Options, dhcpv4.OptionRequestedIPAddress)
	if (hasSID && !sid.IsValid()) || (hasWant && !want.IsValid()) {
		s.stats.Malformed++
		s.log.Debug("dhcp: request with a malformed address option", "mac", mac.String())
		return nil
	}
	if hasSID && sid != s.cfg.ServerIP {
		s.abandonOffer(mac, sid)
		return nil
	}
	if !hasWant {
		want = ip4(req.ClientIPAddr) // renewing or rebinding
	}
	if !want.IsValid() || want.IsUnspecified() {
		s.stats.Malformed++
		s.log.Debug("dhcp: request names no address", "mac", mac.String())
		return nil
	}
	now := s.cfg.Now()
	fresh, err := s.commit(mac, st, want, now)
	if err != nil {
		s.countExhausted(err)
		s.stats.Naks++
		s.log.Info("dhcp: nak", "mac", mac.String(), "ip", want, "err", err)
		return s.nak(req)
	}
	s.stats.Acks++
	if fresh {
		s.log.Info("dhcp: lease", "mac", mac.String(), "ip", want, "static", st.ok)
	} else {
		s.log.Debug("dhcp: lease renewed", "mac", mac.String(), "ip", want)
	}
	return s.reply(req, dhcpv4.MessageTypeAck, want)
}

// commit binds want to mac if it is mac's fixed address, its current
// lease or offer, or free in the pool. fresh reports a new binding.
func (s *Server) commit(mac hwAddr, st staticAddr, want netip.Addr, now time.Time) (fresh bool, err error) {
	var l *lease
	if st.ok {
		if want != st.addr {
			return false, fmt.Errorf("the client's fixed address is %s", st.addr)
		}
		if l, err = s.claimStatic(mac, st.addr, now); err != nil {
			return false, err
		}
	} else {
		s.dropStaleStatic(mac)
		l = s.leases[mac]
		if l == nil || l.addr != want {
			a, err := s.allocate(mac, want, false, now)
			if err != nil {
				return false, err
			}
			if l != nil {
				s.remove(l, true) // moving to another address
			}
			l = &lease{mac: mac, addr: a, src: s.src}
			s.add(l)
		}
	}
	fresh = !l.bound
	l.bound = true
	l.expires = now.Add(s.cfg.LeaseTime)
	return fresh, nil
}

// abandonOffer frees the address offered to a client that chose another
// server. A bound lease is left to run out.
func (s *Server) abandonOffer(mac hwAddr, server netip.Addr) {
	if l := s.leases[mac]; l != nil && !l.bound {
		s.log.Debug("dhcp: client chose another server", "mac", mac.String(), "server", server, "ip", l.addr)
		s.remove(l, true)
	}
}

// release handles DHCPRELEASE: the client's lease on ciaddr ends now.
func (s *Server) release(req *dhcpv4.DHCPv4, mac hwAddr) {
	s.stats.Releases++
	if sid, ok := optAddr(req.Options, dhcpv4.OptionServerIdentifier); ok && sid != s.cfg.ServerIP {
		return
	}
	addr := ip4(req.ClientIPAddr)
	l := s.leases[mac]
	if l == nil || l.addr != addr {
		s.log.Debug("dhcp: release of an address the client does not hold", "mac", mac.String(), "ip", addr)
		return
	}
	s.log.Info("dhcp: lease released", "mac", mac.String(), "ip", addr)
	s.remove(l, true)
}

// decline handles DHCPDECLINE: the client found its address in use on the
// link. A dynamic address stays out of the pool for DeclineHold.
func (s *Server) decline(req *dhcpv4.DHCPv4, mac hwAddr) {
	s.stats.Declines++
	if sid, ok := optAddr(req.Options, dhcpv4.OptionServerIdentifier); ok && sid != s.cfg.ServerIP {
		return
	}
	addr, _ := optAddr(req.Options, dhcpv4.OptionRequestedIPAddress)
	l := s.leases[mac]
	if l == nil || l.addr != addr {
		s.log.Debug("dhcp: decline of an address the client does not hold", "mac", mac.String(), "ip", addr)
		return
	}
	s.log.Warn("dhcp: client declined its address: another host uses it", "mac", mac.String(), "ip", addr, "static", l.static)
	s.remove(l, false)
	if !l.static {
		s.declined[addr] = s.cfg.Now().Add(DeclineHold)
	}
}

// inform answers DHCPINFORM: configuration without a lease.
func (s *Server) inform(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	s.stats.Informs++
	s.stats.Acks++
	return s.reply(req, dhcpv4.MessageTypeAck, netip.Addr{})
}

// countExhausted counts a refusal for want of addresses.
func (s *Server) countExhausted(err error) {
	if errors.Is(err, errExhausted) {
		s.stats.PoolExhausted++
	}
	if errors.Is(err, errSourceCapped) {
		s.stats.SourceCapped++
	}
}
