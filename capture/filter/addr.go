package filter

import (
	"net/netip"
	"strconv"
	"strings"
)

// parseNum parses a number the way libpcap's scanner does: decimal,
// hexadecimal with a 0x prefix, or octal with a leading 0.
func parseNum(s string, pos int) (uint32, error) {
	base, digits := 10, s
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil || digits[0] == '+' || digits[0] == '-' {
		return 0, syntaxErr(pos, "invalid number %q", s)
	}
	return uint32(v), nil
}

// isNum reports whether s looks like a number (starts with a digit and
// has no dots, colons or dashes).
func isNum(s string) bool {
	return s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, ".:-")
}

// parseIPv4 parses a dotted IPv4 address of two to four decimal parts
// (libpcap's "HID"), returning its value left-aligned in 32 bits and
// the number of bits given. ok is false if s is not of that shape.
func parseIPv4(s string, pos int) (v uint32, bits int, ok bool, err error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return 0, 0, false, nil
	}
	for _, part := range parts {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return 0, 0, false, nil
		}
	}
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil || n > 255 {
			return 0, 0, true, syntaxErr(pos, "invalid IPv4 address %q", s)
		}
		v = v<<8 | uint32(n)
	}
	bits = 8 * len(parts)
	return v << (32 - bits), bits, true, nil
}

// parseMAC parses a 48-bit MAC address written as six 1-2 digit hex
// groups separated by ':', '-' or '.', or as three 4-digit hex groups
// separated by '.' (the forms libpcap's scanner accepts).
func parseMAC(s string) (mac [6]byte, ok bool) {
	var groups []string
	for _, sep := range []string{":", "-", "."} {
		if g := strings.Split(s, sep); len(g) == 6 || len(g) == 3 && sep == "." {
			groups = g
			break
		}
	}
	width := 2
	if len(groups) == 3 {
		width = 4
	}
	var bytes []byte
	for _, g := range groups {
		if g == "" || len(g) > width || len(groups) == 3 && len(g) != 4 {
			return mac, false
		}
		n, err := strconv.ParseUint(g, 16, 16)
		if err != nil {
			return mac, false
		}
		if width == 4 {
			bytes = append(bytes, byte(n>>8))
		}
		bytes = append(bytes, byte(n))
	}
	if len(bytes) != 6 {
		return mac, false
	}
	copy(mac[:], bytes)
	return mac, true
}

// parseIPv6 parses an IPv6 address (no zone). IPv4-mapped forms such as
// "::ffff:1.2.3.4" are IPv6 addresses.
func parseIPv6(s string) (a [16]byte, ok bool) {
	if !strings.Contains(s, ":") {
		return a, false
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is6() || ip.Zone() != "" {
		return a, false
	}
	return ip.As16(), true
}

// services holds well-known port names that map to the same number for
// TCP, UDP and SCTP (libpcap would consult /etc/services; this table
// keeps compilation deterministic).
var services = map[string]uint32{
	"echo": 7, "discard": 9, "daytime": 13, "ftp-data": 20, "ftp": 21,
	"ssh": 22, "telnet": 23, "smtp": 25, "time": 37, "domain": 53,
	"bootps": 67, "bootpc": 68, "tftp": 69, "http": 80, "www": 80,
	"kerberos": 88, "pop3": 110, "sunrpc": 111, "nntp": 119, "ntp": 123,
	"netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143,
	"imap2": 143, "snmp": 161, "snmp-trap": 162, "bgp": 179, "ldap": 389,
	"https": 443, "microsoft-ds": 445, "isakmp": 500, "submission": 587,
	"ldaps": 636, "imaps": 993, "pop3s": 995, "openvpn": 1194,
	"mysql": 3306, "postgresql": 5432, "mdns": 5353,
}

// parsePort parses a port number or well-known service name.
func parsePort(s string, pos int) (uint32, error) {
	if v, ok := services[s]; ok {
		return v, nil
	}
	if isName(s) {
		return 0, unsupportedErr(pos, "unsupported port name %q (only numbers and well-known service names)", s)
	}
	if !isNum(s) {
		return 0, syntaxErr(pos, "invalid port %q", s)
	}
	v, err := parseNum(s, pos)
	if err != nil {
		return 0, err
	}
	if v > 65535 {
		return 0, syntaxErr(pos, "illegal port number %d > 65535", v)
	}
	return v, nil
}

// parsePortRange parses "LO-HI" (or a single port), swapping the bounds
// if they are reversed, as libpcap does.
func parsePortRange(s string, pos int) (lo, hi uint32, err error) {
	if _, ok := services[s]; ok || !strings.Contains(s, "-") {
		lo, err = parsePort(s, pos)
		return lo, lo, err
	}
	i := strings.IndexByte(s, '-')
	if i == 0 || i == len(s)-1 || strings.Count(s, "-") != 1 {
		return 0, 0, syntaxErr(pos, "invalid port range %q", s)
	}
	if lo, err = parsePort(s[:i], pos); err != nil {
		return 0, 0, err
	}
	if hi, err = parsePort(s[i+1:], pos+i+1); err != nil {
		return 0, 0, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}
