package dhcp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// header returns a reply to req of type t carrying the fields and options
// every reply has (RFC 2131 table 3).
func (s *Server) header(req *dhcpv4.DHCPv4, t dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	resp := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: net.IPv4zero,
		ClientHWAddr:  append(net.HardwareAddr(nil), req.ClientHWAddr...),
		Options:       dhcpv4.Options{},
	}
	resp.UpdateOption(dhcpv4.OptMessageType(t))
	resp.UpdateOption(dhcpv4.OptServerIdentifier(s.cfg.ServerIP.AsSlice()))
	// RFC 6842: echo the client identifier.
	if cid := req.Options.Get(dhcpv4.OptionClientIdentifier); len(cid) > 0 && len(cid) <= 255 {
		resp.UpdateOption(dhcpv4.OptClientIdentifier(cid))
	}
	return resp
}

// reply builds an OFFER or ACK. With yiaddr set it carries a lease (yiaddr
// and the lease timers); without, it answers a DHCPINFORM.
func (s *Server) reply(req *dhcpv4.DHCPv4, t dhcpv4.MessageType, yiaddr netip.Addr) *dhcpv4.DHCPv4 {
	resp := s.header(req, t)
	if t == dhcpv4.MessageTypeAck {
		if ci := ip4(req.ClientIPAddr); ci.IsValid() {
			resp.ClientIPAddr = ci.AsSlice()
		}
	}
	if yiaddr.IsValid() {
		resp.YourIPAddr = yiaddr.AsSlice()
		lt := s.cfg.LeaseTime.Truncate(time.Second)
		resp.UpdateOption(dhcpv4.OptIPAddressLeaseTime(lt))
		resp.UpdateOption(dhcpv4.OptRenewTimeValue((lt / 2).Truncate(time.Second)))
		resp.UpdateOption(dhcpv4.OptRebindingTimeValue((lt / 8 * 7).Truncate(time.Second)))
	}
	resp.UpdateOption(dhcpv4.OptSubnetMask(s.mask))
	resp.UpdateOption(dhcpv4.OptBroadcastAddress(s.bcast.AsSlice()))
	if s.cfg.Router.IsValid() {
		resp.UpdateOption(dhcpv4.OptRouter(s.cfg.Router.AsSlice()))
	}
	if len(s.cfg.DNS) > 0 {
		dns := make([]net.IP, len(s.cfg.DNS))
		for i, d := range s.cfg.DNS {
			dns[i] = d.AsSlice()
		}
		resp.UpdateOption(dhcpv4.OptDNS(dns...))
	}
	if s.cfg.Domain != "" {
		resp.UpdateOption(dhcpv4.OptDomainName(s.cfg.Domain))
	}
	if s.cfg.MTU > 0 {
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, binary.BigEndian.AppendUint16(nil, uint16(s.cfg.MTU))))
	}
	return resp
}

// nak builds a DHCPNAK. Its message (option 56) is generic: the reason,
// logged by the caller, may name another client.
func (s *Server) nak(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	resp := s.header(req, dhcpv4.MessageTypeNak)
	resp.UpdateOption(dhcpv4.OptMessage("requested address not available"))
	return resp
}

// replyDest picks the reply's link and IP destination (RFC 2131 4.1, for
// on-link clients, giaddr zero): a NAK is broadcast; with ciaddr set the
// reply goes to ciaddr at chaddr; with the broadcast flag set it is
// broadcast; otherwise it goes to yiaddr at chaddr.
func replyDest(req, resp *dhcpv4.DHCPv4) (net.HardwareAddr, netip.Addr) {
	chaddr := net.HardwareAddr(req.ClientHWAddr)
	switch ci, yi := ip4(req.ClientIPAddr), ip4(resp.YourIPAddr); {
	case resp.MessageType() == dhcpv4.MessageTypeNak:
	case ci.IsValid() && !ci.IsUnspecified():
		return chaddr, ci
	case req.IsBroadcast():
	case yi.IsValid() && !yi.IsUnspecified():
		return chaddr, yi
	}
	return broadcastMAC, limitedBroadcast
}

// optAddr reads an IPv4 address option. present reports the option is in
// opts; the address is invalid when its length is not 4.
func optAddr(opts dhcpv4.Options, code dhcpv4.OptionCode) (a netip.Addr, present bool) {
	v, present := opts[code.Code()]
	if len(v) == 4 {
		a = netip.AddrFrom4([4]byte(v))
	}
	return a, present
}

// ip4 converts a BOOTP address field; invalid when it is not IPv4.
func ip4(ip net.IP) netip.Addr {
	if v4 := ip.To4(); v4 != nil {
		return netip.AddrFrom4([4]byte(v4))
	}
	return netip.Addr{}
}

// isZero reports whether a BOOTP address field is unset.
func isZero(ip net.IP) bool {
	a := ip4(ip)
	return !a.IsValid() || a.IsUnspecified()
}
