package rootless

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// This file re-implements the few libc conversions whose exact acceptance
// rules slirp4netns's command line inherits: strtol, sscanf("%x"),
// inet_pton and the CIDR syntax check.

// cstr returns s up to its first NUL byte, as C code would see it.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// isCSpace reports whether c is a space for C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// skipSpaceSign skips C white space and one optional sign, as strtol and
// scanf do, returning the index after them and whether the sign was '-'.
func skipSpaceSign(s string) (i int, neg bool) {
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	return i, neg
}

// strtol10 is strtol(s, &end, 10) followed by slirp4netns's check
// "errno == 0 && *end == '\0'": leading white space and a sign are
// accepted, an empty string converts to 0, out-of-range values (ERANGE)
// and trailing characters fail.
func strtol10(s string) (int64, bool) {
	i, neg := skipSpaceSign(s)
	start := i
	var v uint64
	overflow := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if v > (math.MaxUint64-9)/10 {
			overflow = true
		} else {
			v = v*10 + uint64(s[i]-'0')
		}
		i++
	}
	if i == start { // no digits: end = s, so only "" passes the check
		return 0, s == ""
	}
	if i != len(s) {
		return 0, false
	}
	switch {
	case overflow, !neg && v > math.MaxInt64, neg && v > 1<<63:
		return 0, false
	case neg:
		return int64(-v), true
	}
	return int64(v), true
}

// scanHex is sscanf(s, "%x", &i) with an int i: ok is false when no
// conversion happened. Like glibc it skips white space, takes a sign and
// an optional 0x prefix, saturates at ULONG_MAX, then keeps the low 32
// bits.
func scanHex(s string) (int32, bool) {
	i, neg := skipSpaceSign(s)
	digits := 0
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		i += 2
		digits = 1 // "0x" alone converts to 0
	}
	var v uint64
	overflow := false
	for ; i < len(s); i++ {
		d := hexVal(s[i])
		if d < 0 {
			break
		}
		digits++
		if v>>60 != 0 {
			overflow = true
		}
		v = v<<4 | uint64(d)
	}
	if digits == 0 {
		return 0, false
	}
	switch {
	case overflow:
		v = math.MaxUint64
	case neg:
		v = -v
	}
	return int32(uint32(v)), true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// inetPton4 is glibc's inet_pton(AF_INET, ...): exactly four decimal
// octets, no leading zeros, nothing else.
func inetPton4(s string) (netip.Addr, bool) {
	var a [4]byte
	octets, sawDigit, cur := 0, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if sawDigit && cur == 0 {
				return netip.Addr{}, false
			}
			cur = cur*10 + int(c-'0')
			if cur > 255 {
				return netip.Addr{}, false
			}
			if !sawDigit {
				octets++
				if octets > 4 {
					return netip.Addr{}, false
				}
				sawDigit = true
			}
			a[octets-1] = byte(cur)
		case c == '.' && sawDigit:
			if octets == 4 {
				return netip.Addr{}, false
			}
			sawDigit, cur = false, 0
		default:
			return netip.Addr{}, false
		}
	}
	if octets < 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}

// inetPton6 approximates inet_pton(AF_INET6, ...): an IPv6 address in
// text form (an embedded dotted quad allowed), without a zone.
func inetPton6(s string) (netip.Addr, bool) {
	if !strings.Contains(s, ":") || strings.Contains(s, "%") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// parseCIDR checks a --cidr value the way slirp4netns does and returns
// the exact message it prints (with its newline) on failure.
func parseCIDR(s string) (netip.Prefix, string) {
	invalid := fmt.Sprintf("invalid CIDR: %s\n", s)
	network, prefix, ok := strings.Cut(s, "/")
	if !ok || !allDigits(prefix, 1, 2) {
		return netip.Prefix{}, invalid
	}
	parts := strings.Split(network, ".")
	if len(parts) != 4 {
		return netip.Prefix{}, invalid
	}
	for _, p := range parts {
		if !allDigits(p, 1, 3) {
			return netip.Prefix{}, invalid
		}
	}
	addr, ok := inetPton4(network)
	if !ok {
		return netip.Prefix{}, fmt.Sprintf("invalid network address: %s\n", network)
	}
	bits := int(prefix[0] - '0')
	if len(prefix) == 2 {
		bits = bits*10 + int(prefix[1]-'0')
	}
	if bits < 1 || bits > 25 {
		return netip.Prefix{}, "prefix length needs to be 1-25\n"
	}
	p := netip.PrefixFrom(addr, bits)
	if p.Masked().Addr() != addr {
		return netip.Prefix{}, "CIDR needs to be a network address like 10.0.2.0/24, not like 10.0.2.100/24\n"
	}
	return p, ""
}

// allDigits reports whether s is min..max ASCII digits.
func allDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseMAC is slirp4netns's MAC parser: up to six sscanf("%x") fields
// separated by ':', each 0..255. Fewer than six fields are accepted (the
// rest stays zero); a seventh is an error. It returns the stderr text on
// failure.
func parseMAC(s string) ([6]byte, int, string) {
	var mac [6]byte
	n := 0
	rest, more := s, true
	for more && n < 6 {
		field := rest
		if n > 0 {
			field = rest[1:] // skip the ':'
		}
		v, ok := scanHex(field)
		if !ok || v < 0 || v > 255 {
			return mac, 0, "\"" + s + "\" is an invalid MAC address.\n"
		}
		mac[n] = byte(v)
		n++
		i := strings.IndexByte(field, ':')
		more = i >= 0
		if more {
			rest = field[i:]
		}
	}
	if more {
		return mac, 0, "\"" + s + "\" is an invalid MAC address.  Is it too long?\n"
	}
	return mac, n, ""
}
