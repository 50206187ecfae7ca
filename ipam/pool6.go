package ipam

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/netip"
	"sync"
)

// MinPrefixLen6 and MaxPrefixLen6 bound an IPv6 subnet: SLAAC needs a
// /64, but any length that leaves room for endpoints is accepted.
const (
	MinPrefixLen6 = 16
	MaxPrefixLen6 = 126
)

// Pool6 is one IPv6 subnet's address allocator, with the rules of Pool:
// the lowest free address first (network+1 is the default gateway), the
// subnet-router anycast address (the network address) reserved, an
// address handed out at most once at a time, released addresses reused.
// Its memory grows with the addresses in use, not the subnet's size. It
// is safe for concurrent use.
type Pool6 struct {
	mu      sync.Mutex
	prefix  netip.Prefix
	gateway netip.Addr
	used    map[netip.Addr]struct{}
}

// New6 returns a pool for an IPv6 subnet with the gateway reserved (the
// subnet's first address when gateway is the zero Addr).
func New6(subnet netip.Prefix, gateway netip.Addr) (*Pool6, error) {
	if !subnet.Addr().Is6() || subnet.Addr().Is4In6() {
		return nil, fmt.Errorf("subnet %s is not an IPv6 subnet", subnet)
	}
	if subnet.Addr().Zone() != "" {
		return nil, fmt.Errorf("subnet %s: a subnet has no zone", subnet)
	}
	if subnet != subnet.Masked() {
		return nil, fmt.Errorf("subnet %s: host bits set (did you mean %s?)", subnet, subnet.Masked())
	}
	if subnet.Bits() < MinPrefixLen6 || subnet.Bits() > MaxPrefixLen6 {
		return nil, fmt.Errorf("subnet %s: prefix length must be /%d to /%d", subnet, MinPrefixLen6, MaxPrefixLen6)
	}
	a := subnet.Addr()
	if a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() {
		return nil, fmt.Errorf("subnet %s: link-local, multicast, loopback and unspecified space cannot be a network", subnet)
	}
	p := &Pool6{prefix: subnet, used: map[netip.Addr]struct{}{}}
	if !gateway.IsValid() {
		gateway = subnet.Addr().Next()
	}
	if err := p.reserve(gateway); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	p.gateway = gateway
	return p, nil
}

// Gateway returns the reserved gateway address.
func (p *Pool6) Gateway() netip.Addr { return p.gateway }

// Prefix returns the pool's subnet.
func (p *Pool6) Prefix() netip.Prefix { return p.prefix }

// Allocate returns the lowest free address.
func (p *Pool6) Allocate() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// At most len(used)+1 steps: every address skipped is in use.
	for a := p.prefix.Addr().Next(); a.IsValid() && p.prefix.Contains(a); a = a.Next() {
		if _, ok := p.used[a]; !ok {
			p.used[a] = struct{}{}
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: %w", p.prefix, ErrFull)
}

// Reserve marks a chosen address as used; it fails when the address is
// outside the subnet, the subnet-router anycast address, or in use.
func (p *Pool6) Reserve(a netip.Addr) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reserve(a)
}

func (p *Pool6) reserve(a netip.Addr) error {
	if err := p.check(a); err != nil {
		return err
	}
	if _, ok := p.used[a]; ok {
		return fmt.Errorf("address %s: %w", a, ErrInUse)
	}
	p.used[a] = struct{}{}
	return nil
}

func (p *Pool6) check(a netip.Addr) error {
	if !a.Is6() || a.Is4In6() || a.Zone() != "" || !p.prefix.Contains(a) {
		return fmt.Errorf("address %s is outside the subnet %s", a, p.prefix)
	}
	if a == p.prefix.Addr() {
		return fmt.Errorf("address %s is the subnet-router anycast address of %s", a, p.prefix)
	}
	return nil
}

// Release frees an address; the gateway stays reserved.
func (p *Pool6) Release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a != p.gateway {
		delete(p.used, a)
	}
}

// InUse reports whether a is allocated or reserved.
func (p *Pool6) InUse(a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.used[a]
	return ok || a == p.prefix.Addr()
}

// RandomULA returns a unique local /64 (RFC 4193): fd00::/8, a random
// 40-bit global ID and subnet ID 0.
func RandomULA() (netip.Prefix, error) {
	var a [16]byte
	a[0] = 0xfd
	gid, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 40))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("random ULA global ID: %w", err)
	}
	gid.FillBytes(a[1:6])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64), nil
}

// SLAAC returns the address a host with mac configures in a /64 by
// stateless autoconfiguration with an EUI-64 interface identifier
// (RFC 4862, RFC 4291 appendix A), Linux's default; ok is false when the
// subnet is not a /64 or mac is not 6 bytes.
func SLAAC(subnet netip.Prefix, mac []byte) (netip.Addr, bool) {
	if subnet.Bits() != 64 || !subnet.Addr().Is6() || len(mac) != 6 {
		return netip.Addr{}, false
	}
	a := subnet.Masked().Addr().As16()
	a[8], a[9], a[10] = mac[0]^0x02, mac[1], mac[2]
	a[11], a[12] = 0xff, 0xfe
	a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(a), true
}
