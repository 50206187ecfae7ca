package vswitch

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
)

// PortSecurity binds a port to the addresses of what sits behind it, as
// libvirt's clean-traffic filter or Open vSwitch port security do.
//
// The port owns MAC and IPs (and the IPv6 link-local address derived from
// MAC): no other port may send frames from MAC or claim one of the
// addresses in ARP or neighbour discovery, and MAC's forwarding entry is
// pinned to the port (it never ages, moves or gets evicted). A Locked port
// is further restricted to its own addresses: frames from any other source
// MAC, ARP or ND claiming any other address, router advertisements and
// redirects, and frames with a second VLAN tag are dropped.
type PortSecurity struct {
	MAC    net.HardwareAddr
	IPs    []netip.Addr
	Locked bool
}

// ErrOwned is wrapped by AddPort when a port would own an address another
// port owns already.
var ErrOwned = errors.New("address owned by another port")

// secState is a port's immutable security settings.
type secState struct {
	on     bool // the port owns addresses
	locked bool
	mac    uint64
	ips    []netip.Addr
}

// secCounters count the frames port security dropped, by reason.
type secCounters struct {
	srcMAC, macOwned, arp, nd, tagged atomic.Uint64
}

// SecurityStats are a port's port-security drop counters.
type SecurityStats struct {
	// SrcMAC counts frames of a locked port from a source MAC not its own.
	SrcMAC uint64 `json:"src_mac"`
	// MACOwned counts frames from a source MAC another port owns.
	MACOwned uint64 `json:"mac_owned"`
	// ARP counts ARP packets claiming an address the port may not claim.
	ARP uint64 `json:"arp"`
	// ND counts IPv6 neighbour discovery the port may not send.
	ND uint64 `json:"nd"`
	// Tagged counts frames of a locked port with a second VLAN tag.
	Tagged uint64 `json:"tagged"`
}

func (c *secCounters) stats() SecurityStats {
	return SecurityStats{SrcMAC: c.srcMAC.Load(), MACOwned: c.macOwned.Load(), ARP: c.arp.Load(),
		ND: c.nd.Load(), Tagged: c.tagged.Load()}
}

// claims is the switch's copy-on-write table of owned addresses, read
// without locks on the forwarding path.
type claims struct {
	macs map[uint64]*portState
	ips  map[netip.Addr]*portState
}

func macU64(b []byte) uint64 {
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

// linkLocal returns the EUI-64 IPv6 link-local address of mac (RFC 4291).
func linkLocal(mac net.HardwareAddr) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	a[8], a[9], a[10] = mac[0]^0x02, mac[1], mac[2]
	a[11], a[12] = 0xff, 0xfe
	a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(a)
}

// newSecState validates ps and returns the port's state with the owned
// addresses (the IPs plus the MAC's link-local address).
func newSecState(ps *PortSecurity) (secState, error) {
	if ps == nil {
		return secState{}, nil
	}
	if len(ps.MAC) != 6 || ps.MAC[0]&1 != 0 || isZeroMAC(ps.MAC) {
		return secState{}, fmt.Errorf("port security: MAC %q is not a unicast Ethernet address", ps.MAC)
	}
	st := secState{on: true, locked: ps.Locked, mac: macU64(ps.MAC)}
	for _, a := range ps.IPs {
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
			return secState{}, fmt.Errorf("port security: %s is not a unicast address", a)
		}
		st.ips = append(st.ips, a.Unmap())
	}
	st.ips = append(st.ips, linkLocal(ps.MAC))
	return st, nil
}

// owns reports whether a is one of the port's own addresses.
func (st *secState) owns(a netip.Addr) bool {
	for _, o := range st.ips {
		if o == a {
			return true
		}
	}
	return false
}

// withPort returns a copy of c with p's addresses added, or ErrOwned.
func (c *claims) withPort(p *portState) (*claims, error) {
	n := &claims{macs: make(map[uint64]*portState, len(c.macs)+1), ips: make(map[netip.Addr]*portState, len(c.ips)+2)}
	for k, v := range c.macs {
		n.macs[k] = v
	}
	for k, v := range c.ips {
		n.ips[k] = v
	}
	if o := n.macs[p.sec.mac]; o != nil {
		return nil, fmt.Errorf("MAC %s: %w %q", fdbKey(p.sec.mac<<16).mac(), ErrOwned, o.info.Name)
	}
	n.macs[p.sec.mac] = p
	for _, a := range p.sec.ips {
		if o := n.ips[a]; o != nil {
			return nil, fmt.Errorf("address %s: %w %q", a, ErrOwned, o.info.Name)
		}
		n.ips[a] = p
	}
	return n, nil
}

// without returns a copy of c with p's addresses removed.
func (c *claims) without(p *portState) *claims {
	n := &claims{macs: make(map[uint64]*portState, len(c.macs)), ips: make(map[netip.Addr]*portState, len(c.ips))}
	for k, v := range c.macs {
		if v != p {
			n.macs[k] = v
		}
	}
	for k, v := range c.ips {
		if v != p {
			n.ips[k] = v
		}
	}
	return n
}

// ownedBy returns the port owning ip, or nil.
func (c *claims) ownedBy(ip netip.Addr) *portState { return c.ips[ip] }
