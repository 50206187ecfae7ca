// Package dhcp is switchyard's in-process DHCPv4 server. Each network's
// gateway hands it the IPv4/UDP frames sent to port 67 on the network's
// switch and puts the reply frame it returns back on the switch; the server
// never touches a socket.
//
// Dynamic leases come from the pool given to New (the daemon passes the
// network's DHCP range, apart from the addresses attach hands out). An
// endpoint attached with a fixed address (attach --ip) always gets exactly
// that address: the static callback of New names it, and the server never
// takes it from the pool. Dynamic leases are capped in total and per
// Ethernet source address (Config.MaxPerSource).
// Every other client gets a dynamic lease keyed by its hardware address
// (chaddr): the lowest free address, the same one again while the lease
// lives, returned to the pool on RELEASE, on expiry, or when an offer is not
// followed by a REQUEST within OfferTimeout.
package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Server answers one network's DHCP requests. It is safe for concurrent
// use; DHCP is not on the forwarding path, so one mutex serialises it.
type Server struct {
	cfg    Config
	pool   Pool
	static func(net.HardwareAddr) (netip.Addr, bool)
	log    *slog.Logger
	bcast  netip.Addr // subnet broadcast
	mask   net.IPMask

	mu       sync.Mutex
	leases   map[hwAddr]*lease
	byAddr   map[netip.Addr]hwAddr
	declined map[netip.Addr]time.Time
	dynamic  int // leases held from the pool, bound or offered
	perSrc   map[hwAddr]int
	src      hwAddr // Ethernet source of the frame being handled
	stats    Stats
	ipID     uint16
}

// Stats counts the messages a server has seen and what it did with them.
type Stats struct {
	Discovers     uint64 // DHCPDISCOVER received
	Offers        uint64 // DHCPOFFER sent
	Requests      uint64 // DHCPREQUEST received
	Acks          uint64 // DHCPACK sent (to REQUEST and INFORM)
	Naks          uint64 // DHCPNAK sent
	Releases      uint64 // DHCPRELEASE received
	Declines      uint64 // DHCPDECLINE received
	Informs       uint64 // DHCPINFORM received
	Malformed     uint64 // frames to port 67 that could not be parsed
	PoolExhausted uint64 // DISCOVERs unanswered, or REQUESTs NAKed, as no address was left (pool full or MaxLeases reached)
	SourceCapped  uint64 // of those, refused because the frames' source MAC (port) reached MaxPerSource
	Leases        int    // bindings and offers held now (a gauge)
}

// New returns a server handing out addresses from pool. static, which may be
// nil, reports the address already assigned to a MAC from the same pool
// (an endpoint attached with a fixed address); such a MAC gets exactly that
// address. static is called for every request without the server's lock
// held, so it may take its own locks; it must be safe for concurrent use.
func New(cfg Config, pool Pool, static func(mac net.HardwareAddr) (netip.Addr, bool)) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("%w: no address pool", ErrConfig)
	}
	s := &Server{
		cfg:      cfg,
		pool:     pool,
		static:   static,
		log:      cfg.Log.With("subnet", cfg.Subnet.String()),
		bcast:    cfg.broadcast(),
		mask:     net.CIDRMask(cfg.Subnet.Bits(), 32),
		leases:   make(map[hwAddr]*lease),
		byAddr:   make(map[netip.Addr]hwAddr),
		declined: make(map[netip.Addr]time.Time),
		perSrc:   make(map[hwAddr]int),
	}
	return s, nil
}

// Handle answers one Ethernet frame. It returns the reply frame and true
// when the frame is a DHCP request for this server that calls for an
// answer, and false for anything else: other traffic, malformed frames
// (counted in Stats), and messages answered by silence (RELEASE, DECLINE,
// a REQUEST selecting another server, an exhausted pool).
func (s *Server) Handle(frame []byte) (reply []byte, ok bool) {
	env, err := s.parseFrame(frame)
	if err != nil {
		s.drop(err)
		return nil, false
	}
	req, err := dhcpv4.FromBytes(env.payload)
	if err != nil {
		s.drop(fmt.Errorf("%w: BOOTP message: %w", errMalformed, err))
		return nil, false
	}
	if err := checkRequest(req); err != nil {
		s.drop(err)
		return nil, false
	}
	mac := hwAddr(req.ClientHWAddr)
	var st staticAddr
	if s.static != nil {
		st.addr, st.ok = s.static(append(net.HardwareAddr(nil), req.ClientHWAddr...))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.src = hwAddr(frame[6:12])
	resp := s.dispatch(req, mac, st)
	if resp == nil {
		return nil, false
	}
	dstMAC, dstIP := replyDest(req, resp)
	s.ipID++
	return s.buildFrame(dstMAC, dstIP, resp.ToBytes(), s.ipID), true
}

// checkRequest rejects BOOTP messages this server cannot answer.
func checkRequest(req *dhcpv4.DHCPv4) error {
	switch {
	case req.OpCode != dhcpv4.OpcodeBootRequest:
		return fmt.Errorf("%w: BOOTP op %d is not a request", errMalformed, req.OpCode)
	case req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6:
		return fmt.Errorf("%w: hardware type %d, length %d is not Ethernet", errMalformed, req.HWType, len(req.ClientHWAddr))
	case req.ClientHWAddr[0]&1 != 0 || hwAddr(req.ClientHWAddr) == (hwAddr{}):
		return fmt.Errorf("%w: client hardware address %s is not a unicast MAC", errMalformed, req.ClientHWAddr)
	case !isZero(req.GatewayIPAddr):
		// Only on-link clients reach the gateway port.
		return fmt.Errorf("%w: relayed by %s", errIgnore, req.GatewayIPAddr)
	case req.MessageType() == dhcpv4.MessageTypeNone:
		return fmt.Errorf("%w: no DHCP message type", errMalformed)
	}
	return nil
}

// drop logs and counts a frame Handle does not answer.
func (s *Server) drop(err error) {
	if errors.Is(err, errMalformed) {
		s.mu.Lock()
		s.stats.Malformed++
		s.mu.Unlock()
		s.log.Debug("dhcp: dropped malformed frame", "err", err)
	}
}

// dispatch runs the handler of the request's message type; nil means no
// reply. The caller holds s.mu.
func (s *Server) dispatch(req *dhcpv4.DHCPv4, mac hwAddr, st staticAddr) *dhcpv4.DHCPv4 {
	switch t := req.MessageType(); t {
	case dhcpv4.MessageTypeDiscover:
		return s.discover(req, mac, st)
	case dhcpv4.MessageTypeRequest:
		return s.request(req, mac, st)
	case dhcpv4.MessageTypeRelease:
		s.release(req, mac)
	case dhcpv4.MessageTypeDecline:
		s.decline(req, mac)
	case dhcpv4.MessageTypeInform:
		return s.inform(req)
	default:
		s.log.Debug("dhcp: ignored message", "type", t.String(), "mac", mac.String())
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Leases = len(s.leases)
	return st
}

// Expire returns to the pool the dynamic leases and offers past their
// expiry and the declined addresses past DeclineHold, and forgets expired
// static bindings (their addresses are never the server's to release).
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.cfg.Now(), nil)
}
