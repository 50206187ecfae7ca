// Package ipam hands out IPv4 and IPv6 addresses from a network's subnets
// the way Docker's default IPAM does: the lowest free address first, the
// network, broadcast and gateway addresses reserved, released addresses
// reused.
package ipam

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"sync"
)

// Errors wrapped by the pool's failures.
var (
	// ErrFull is returned when every address of the subnet is taken.
	ErrFull = errors.New("no free address left in the subnet")
	// ErrInUse is returned by Reserve for an address already taken.
	ErrInUse = errors.New("address already in use")
)

// MinPrefixLen bounds the subnet size (a /8 needs a 2 MiB bitmap).
const MinPrefixLen = 8

// Pool is one subnet's address allocator. It is safe for concurrent use.
type Pool struct {
	mu      sync.Mutex
	prefix  netip.Prefix
	base    uint32
	size    uint32
	used    []uint64
	gateway netip.Addr
	// only, for a range pool, is the span it manages; excluded is a span
	// a pool never hands out. Release ignores addresses outside only and
	// inside excluded.
	only, excluded *Range
}

// New returns a pool for an IPv4 subnet with the gateway reserved. The
// subnet must be canonical (host bits zero) and hold at least one address
// besides the gateway.
func New(subnet netip.Prefix, gateway netip.Addr) (*Pool, error) {
	if !subnet.Addr().Is4() {
		return nil, fmt.Errorf("subnet %s: only IPv4 subnets are supported", subnet)
	}
	if subnet != subnet.Masked() {
		return nil, fmt.Errorf("subnet %s: host bits set (did you mean %s?)", subnet, subnet.Masked())
	}
	if subnet.Bits() < MinPrefixLen || subnet.Bits() > 30 {
		return nil, fmt.Errorf("subnet %s: prefix length must be /%d to /30", subnet, MinPrefixLen)
	}
	size := uint32(1) << (32 - subnet.Bits())
	p := &Pool{prefix: subnet, base: toU32(subnet.Addr()), size: size, used: make([]uint64, (size+63)/64)}
	p.set(0)        // network address
	p.set(size - 1) // broadcast
	if !gateway.IsValid() {
		gateway = p.addr(1)
	}
	if err := p.reserve(gateway); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	p.gateway = gateway
	return p, nil
}

// Gateway returns the reserved gateway address.
func (p *Pool) Gateway() netip.Addr { return p.gateway }

// Prefix returns the pool's subnet.
func (p *Pool) Prefix() netip.Prefix { return p.prefix }

// Allocate returns the lowest free address.
func (p *Pool) Allocate() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for w, word := range p.used {
		if word == ^uint64(0) {
			continue
		}
		i := uint32(w*64 + bits.TrailingZeros64(^word))
		if i >= p.size {
			break
		}
		p.set(i)
		return p.addr(i), nil
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: %w", p.prefix, ErrFull)
}

// Reserve marks a chosen address as used; it fails when the address is
// outside the subnet, reserved, or in use.
func (p *Pool) Reserve(a netip.Addr) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reserve(a)
}

func (p *Pool) reserve(a netip.Addr) error {
	i, err := p.index(a)
	if err != nil {
		return err
	}
	if i == 0 || i == p.size-1 {
		return fmt.Errorf("address %s is the network or broadcast address of %s", a, p.prefix)
	}
	if p.isSet(i) {
		return fmt.Errorf("address %s: %w", a, ErrInUse)
	}
	p.set(i)
	return nil
}

// Release frees an address so a later Allocate can hand it out again. The
// gateway, network and broadcast addresses stay reserved.
func (p *Pool) Release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, err := p.index(a)
	if err != nil || i == 0 || i == p.size-1 || a == p.gateway {
		return
	}
	if (p.only != nil && !p.only.Contains(a)) || (p.excluded != nil && p.excluded.Contains(a)) {
		return
	}
	p.used[i/64] &^= 1 << (i % 64)
}

// InUse reports whether a is allocated or reserved.
func (p *Pool) InUse(a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, err := p.index(a)
	return err == nil && p.isSet(i)
}

func (p *Pool) index(a netip.Addr) (uint32, error) {
	if !a.Is4() || !p.prefix.Contains(a) {
		return 0, fmt.Errorf("address %s is outside the subnet %s", a, p.prefix)
	}
	return toU32(a) - p.base, nil
}

func (p *Pool) set(i uint32)        { p.used[i/64] |= 1 << (i % 64) }
func (p *Pool) isSet(i uint32) bool { return p.used[i/64]&(1<<(i%64)) != 0 }

func (p *Pool) addr(i uint32) netip.Addr {
	v := p.base + i
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func toU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
