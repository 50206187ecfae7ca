package ipam

import (
	"fmt"
	"net/netip"
	"strings"
)

// Range is an inclusive span of addresses of one subnet.
type Range struct {
	First, Last netip.Addr
}

// String formats the range as FIRST-LAST.
func (r Range) String() string { return r.First.String() + "-" + r.Last.String() }

// Contains reports whether a lies in the range.
func (r Range) Contains(a netip.Addr) bool {
	return r.First.IsValid() && a.Compare(r.First) >= 0 && a.Compare(r.Last) <= 0
}

// ParseRange reads a range of subnet given as a CIDR inside it
// (10.0.0.128/25) or as FIRST-LAST (10.0.0.100-10.0.0.199).
func ParseRange(s string, subnet netip.Prefix) (Range, error) {
	var r Range
	if first, last, ok := strings.Cut(s, "-"); ok {
		var err error
		if r.First, err = netip.ParseAddr(strings.TrimSpace(first)); err != nil {
			return r, fmt.Errorf("range %q: %w", s, err)
		}
		if r.Last, err = netip.ParseAddr(strings.TrimSpace(last)); err != nil {
			return r, fmt.Errorf("range %q: %w", s, err)
		}
	} else {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return r, fmt.Errorf("range %q is neither a CIDR nor FIRST-LAST: %w", s, err)
		}
		if !p.Addr().Is4() {
			return r, fmt.Errorf("range %s is not IPv4", p)
		}
		if p != p.Masked() {
			return r, fmt.Errorf("range %s: host bits set (did you mean %s?)", p, p.Masked())
		}
		r.First, r.Last = p.Addr(), lastOf(p)
	}
	if !r.First.Is4() || !r.Last.Is4() || !subnet.Contains(r.First) || !subnet.Contains(r.Last) {
		return r, fmt.Errorf("range %s is not inside the subnet %s", r, subnet)
	}
	if r.First.Compare(r.Last) > 0 {
		return r, fmt.Errorf("range %s: the first address is above the last", r)
	}
	return r, nil
}

// DefaultRange is the last quarter of subnet's addresses (broadcast
// excluded), or the zero Range when that leaves none.
func DefaultRange(subnet netip.Prefix) Range {
	size := uint32(1) << (32 - subnet.Bits())
	base := toU32(subnet.Addr())
	first, last := base+size-size/4, base+size-2
	if size < 8 || first > last {
		return Range{}
	}
	return Range{First: fromU32(first), Last: fromU32(last)}
}

func lastOf(p netip.Prefix) netip.Addr {
	return fromU32(toU32(p.Addr()) | (uint32(1)<<(32-p.Bits()) - 1))
}

func fromU32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// NewRange returns a pool of subnet that hands out only the addresses of
// r (the gateway, network and broadcast addresses stay reserved): a DHCP
// server's dynamic pool, kept apart from the addresses attach hands out.
func NewRange(subnet netip.Prefix, gateway netip.Addr, r Range) (*Pool, error) {
	p, err := New(subnet, gateway)
	if err != nil {
		return nil, err
	}
	lo, hi := toU32(r.First)-p.base, toU32(r.Last)-p.base
	for i := uint32(0); i < p.size; i++ {
		if i < lo || i > hi {
			p.set(i)
		}
	}
	p.only = &r
	return p, nil
}

// Exclude marks the addresses of r as taken for good: Allocate never
// returns them and Release ignores them (attach's pool excluding the DHCP
// range).
func (p *Pool) Exclude(r Range) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	lo, err := p.index(r.First)
	if err != nil {
		return err
	}
	hi, err := p.index(r.Last)
	if err != nil {
		return err
	}
	for i := lo; i <= hi; i++ {
		p.set(i)
	}
	p.excluded = &r
	return nil
}
