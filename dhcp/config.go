package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Defaults, and the timers of the lease state machine that are fixed.
const (
	// DefaultLeaseTime is the lease length when Config.LeaseTime is zero.
	DefaultLeaseTime = time.Hour
	// DefaultMaxLeases caps dynamic leases when Config.MaxLeases is zero.
	DefaultMaxLeases = 1024
	// DefaultMaxPerSource caps the dynamic leases taken through frames
	// from one source MAC when Config.MaxPerSource is zero.
	DefaultMaxPerSource = 4
	// OfferTimeout is how long an offered address stays held for a client
	// that has not sent the matching REQUEST yet.
	OfferTimeout = 30 * time.Second
	// DeclineHold is how long an address a client DECLINEd (found in use on
	// the link) stays out of the pool.
	DeclineHold = 10 * time.Minute
)

// maxLeaseTime keeps the lease in option 51's 32-bit seconds without
// reaching 0xffffffff, which means "infinite".
const maxLeaseTime = time.Duration(0xfffffffe) * time.Second

// ErrConfig is wrapped by every error New returns for an invalid Config.
var ErrConfig = errors.New("invalid DHCP server config")

// Pool is the address allocator dynamic leases come from. *ipam.Pool
// satisfies it. Allocate must return the lowest free address, Reserve must
// fail for an address already taken, and Release must ignore addresses it
// does not manage.
type Pool interface {
	Allocate() (netip.Addr, error)
	Reserve(netip.Addr) error
	Release(netip.Addr)
}

// Config holds one network's DHCP server settings. Zero fields take the
// defaults given in their comments.
type Config struct {
	// ServerIP is the server's address (usually the network gateway): the
	// source of replies and the server identifier (option 54). It must lie
	// in Subnet.
	ServerIP netip.Addr
	// ServerMAC is the source MAC of replies (the gateway port's MAC).
	ServerMAC net.HardwareAddr
	// Subnet is the network's IPv4 prefix; it gives the subnet mask and the
	// broadcast address sent to clients.
	Subnet netip.Prefix
	// Router is the default gateway offered (option 3); zero omits the
	// option, which suits internal networks without a way out.
	Router netip.Addr
	// DNS lists the name servers offered (option 6); empty omits it.
	DNS []netip.Addr
	// MTU is the interface MTU offered (option 26); zero omits it.
	MTU int
	// LeaseTime is the lease length (1h). T1 and T2 are 1/2 and 7/8 of it.
	LeaseTime time.Duration
	// Domain is the domain name offered (option 15); empty omits it.
	Domain string
	// MaxLeases caps the dynamic leases and pending offers held at once
	// (1024), so one port cycling through MACs cannot drain the pool.
	MaxLeases int
	// MaxPerSource caps the dynamic leases and offers held by clients
	// whose requests came in frames from one Ethernet source address (4).
	// With switch port security a port sends from its own MAC only, so
	// this is a per-port cap: one port cycling through client hardware
	// addresses (chaddr) gets no more than this.
	MaxPerSource int
	// Now tells the time; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
	// Log receives lease events; nil discards them.
	Log *slog.Logger
}

// setDefaults fills the zero fields and validates the rest.
func (c *Config) setDefaults() error {
	if !c.Subnet.IsValid() || !c.Subnet.Addr().Is4() {
		return fmt.Errorf("%w: subnet %s is not an IPv4 prefix", ErrConfig, c.Subnet)
	}
	if c.Subnet != c.Subnet.Masked() {
		return fmt.Errorf("%w: subnet %s has host bits set", ErrConfig, c.Subnet)
	}
	if c.Subnet.Bits() > 30 {
		return fmt.Errorf("%w: subnet %s is smaller than a /30", ErrConfig, c.Subnet)
	}
	if !c.ServerIP.Is4() || !c.Subnet.Contains(c.ServerIP) {
		return fmt.Errorf("%w: server IP %s is not in %s", ErrConfig, c.ServerIP, c.Subnet)
	}
	if len(c.ServerMAC) != 6 {
		return fmt.Errorf("%w: server MAC %q is not a 6-byte Ethernet address", ErrConfig, c.ServerMAC)
	}
	c.ServerMAC = append(net.HardwareAddr(nil), c.ServerMAC...)
	if c.Router.IsValid() && (!c.Router.Is4() || !c.Subnet.Contains(c.Router)) {
		return fmt.Errorf("%w: router %s is not in %s", ErrConfig, c.Router, c.Subnet)
	}
	if len(c.DNS) > 63 {
		return fmt.Errorf("%w: %d DNS servers do not fit in one option (max 63)", ErrConfig, len(c.DNS))
	}
	for _, d := range c.DNS {
		if !d.Is4() {
			return fmt.Errorf("%w: DNS server %s is not an IPv4 address", ErrConfig, d)
		}
	}
	c.DNS = append([]netip.Addr(nil), c.DNS...)
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return fmt.Errorf("%w: MTU %d is outside 68..65535", ErrConfig, c.MTU)
	}
	switch {
	case c.LeaseTime == 0:
		c.LeaseTime = DefaultLeaseTime
	case c.LeaseTime < time.Second || c.LeaseTime > maxLeaseTime:
		return fmt.Errorf("%w: lease time %s is outside 1s..%s", ErrConfig, c.LeaseTime, maxLeaseTime)
	}
	if len(c.Domain) > 255 {
		return fmt.Errorf("%w: domain name is %d bytes long (max 255)", ErrConfig, len(c.Domain))
	}
	switch {
	case c.MaxLeases == 0:
		c.MaxLeases = DefaultMaxLeases
	case c.MaxLeases < 0:
		return fmt.Errorf("%w: max leases %d is negative", ErrConfig, c.MaxLeases)
	}
	switch {
	case c.MaxPerSource == 0:
		c.MaxPerSource = DefaultMaxPerSource
	case c.MaxPerSource < 0:
		return fmt.Errorf("%w: max leases per source %d is negative", ErrConfig, c.MaxPerSource)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// broadcast returns the subnet's broadcast address.
func (c *Config) broadcast() netip.Addr {
	b := c.Subnet.Addr().As4()
	host := uint32(1)<<(32-c.Subnet.Bits()) - 1
	for i := range 4 {
		b[i] |= byte(host >> (24 - 8*i))
	}
	return netip.AddrFrom4(b)
}
