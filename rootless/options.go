// Package rootless is the compatibility layer of switchyard's slirp4netns
// drop-in: the slirp4netns 1.2.0 command line (ParseArgs, Help, Version)
// and its API socket (APIServer), reproduced byte for byte, including the
// messages and exit statuses of the original. It parses and answers; it
// never prints, exits or touches namespaces: cmd/ does that.
package rootless

import (
	"net"
	"net/netip"
)

// Defaults of slirp4netns.
const (
	// DefaultMTU is the MTU without -m.
	DefaultMTU = 1500
	// MaxMTU is the largest MTU -m accepts.
	MaxMTU = 65521
	// DefaultTapName is the conventional TAP name callers pass.
	DefaultTapName = "tap0"
	// MaxAPISocketPath is the length from which an API socket path is
	// rejected (sizeof(sockaddr_un.sun_path)).
	MaxAPISocketPath = 108
)

// DefaultCIDR is the network without --cidr.
var DefaultCIDR = netip.MustParsePrefix("10.0.2.0/24")

// Options is a parsed slirp4netns command line.
type Options struct {
	// Configure (-c) brings up lo and the TAP inside the namespace and
	// gives the TAP the guest address and a default route.
	Configure bool
	// ExitFD (-e) is polled: any event on it makes the helper exit 0.
	// -1 when unset.
	ExitFD int
	// ReadyFD (-r) gets the byte '1' once everything is set up, then is
	// closed. -1 when unset.
	ReadyFD int
	// MTU (-m) is 1..MaxMTU, DefaultMTU when unset.
	MTU int
	// EnableIPv6 (-6) adds fd00::/64 with gateway fd00::2, DNS fd00::3.
	EnableIPv6 bool
	// APISocket (-a) is the path of the API socket, "" when unset.
	APISocket string
	// CIDR (--cidr) is the guest network, DefaultCIDR when unset.
	CIDR netip.Prefix
	// DisableHostLoopback (--disable-host-loopback) stops the gateway
	// address from reaching the host's 127.0.0.1.
	DisableHostLoopback bool
	// NetnsType (--netns-type) is "pid" (Target is a PID whose network and
	// user namespaces are joined) or "path" (Target is a netns path).
	// slirp4netns treats every value other than "pid" as "path".
	NetnsType string
	// UsernsPath (--userns-path) is a user namespace to join first.
	UsernsPath string
	// EnableSandbox (--enable-sandbox) asks for a private mount
	// namespace and dropped capabilities.
	EnableSandbox bool
	// EnableSeccomp (--enable-seccomp) asks for a syscall filter.
	EnableSeccomp bool
	// DisableDNS (--disable-dns) stops network+3 from answering DNS.
	DisableDNS bool
	// OutboundAddr (--outbound-addr) is the IPv4 source for outbound
	// connections (an interface name is resolved); invalid when unset.
	OutboundAddr netip.Addr
	// OutboundAddr6 (--outbound-addr6) is the IPv6 source; invalid when
	// unset.
	OutboundAddr6 netip.Addr
	// MACAddress (--macaddress, only with -c) is the TAP's MAC, nil when
	// unset. Like slirp4netns, fewer than six fields leave zeros.
	MACAddress net.HardwareAddr
	// Target is the first positional argument as given: a PID or a path.
	Target string
	// PID is Target as a number when NetnsType is "pid", else 0.
	PID int
	// TapName is the second positional argument.
	TapName string
	// Pcap (--pcap, switchyard only) is a file to write the TAP's traffic
	// to, "" when unset.
	Pcap string
	// ResolvConf lists the host's resolvers for the DNS at network+3
	// (/etc/resolv.conf when empty; not a slirp4netns flag: the command
	// may set it from its environment).
	ResolvConf string
	// Resolvers, when not nil, are the host's resolvers, read in advance
	// (by a helper about to enter its sandbox); ResolvConf is not read.
	Resolvers []string
	// Warnings are the lines (without newline) slirp4netns prints to
	// standard output while parsing, e.g. "WARNING: Support for IPv6 is
	// experimental". The command prints them before starting.
	Warnings []string
}

// DefaultOptions returns the options of a command line without flags.
func DefaultOptions() Options {
	return Options{
		ExitFD:    -1,
		ReadyFD:   -1,
		MTU:       DefaultMTU,
		CIDR:      DefaultCIDR,
		NetnsType: "pid",
		TapName:   DefaultTapName,
	}
}

// Addrs are the addresses slirp4netns derives from its network.
type Addrs struct {
	// Network is the IPv4 network (--cidr).
	Network netip.Prefix
	// Gateway is network+2: the router, and the alias of the host's
	// 127.0.0.1 unless --disable-host-loopback.
	Gateway netip.Addr
	// DNS is network+3.
	DNS netip.Addr
	// Guest is network+100, the recommended (and -c) guest address.
	Guest netip.Addr
	// DHCPStart and DHCPEnd bound the DHCP pool: network+15..network+30.
	DHCPStart, DHCPEnd netip.Addr
	// Network6 is fd00::/64 (used with -6).
	Network6 netip.Prefix
	// Gateway6 is fd00::2.
	Gateway6 netip.Addr
	// DNS6 is fd00::3.
	DNS6 netip.Addr
}

// Addrs returns the addresses derived from o.CIDR (DefaultCIDR when
// unset).
func (o Options) Addrs() Addrs {
	p := o.CIDR
	if !p.IsValid() {
		p = DefaultCIDR
	}
	p = p.Masked()
	return Addrs{
		Network:   p,
		Gateway:   offset4(p.Addr(), 2),
		DNS:       offset4(p.Addr(), 3),
		Guest:     offset4(p.Addr(), 100),
		DHCPStart: offset4(p.Addr(), 15),
		DHCPEnd:   offset4(p.Addr(), 30),
		Network6:  netip.MustParsePrefix("fd00::/64"),
		Gateway6:  netip.MustParseAddr("fd00::2"),
		DNS6:      netip.MustParseAddr("fd00::3"),
	}
}

// offset4 returns the IPv4 address n after a.
func offset4(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
