package portmap

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is a publish request, `[HOSTIP:]HOSTPORT[-END]:ENDPOINT:PORT[-END][/tcp|/udp]`.
type Spec struct {
	Proto    string     // "tcp" (default) or "udp"
	HostIP   netip.Addr // invalid: every address
	HostPort uint16
	HostEnd  uint16 // == HostPort for a single port
	Endpoint string // an endpoint name, or an address in the network
	Port     uint16
	PortEnd  uint16
}

// Count is how many ports the spec maps.
func (s Spec) Count() int { return int(s.HostEnd-s.HostPort) + 1 }

// String returns the canonical form.
func (s Spec) String() string {
	var b strings.Builder
	if s.HostIP.IsValid() {
		if s.HostIP.Is6() {
			b.WriteString("[" + s.HostIP.String() + "]:")
		} else {
			b.WriteString(s.HostIP.String() + ":")
		}
	}
	b.WriteString(portRange(s.HostPort, s.HostEnd) + ":" + s.Endpoint + ":" + portRange(s.Port, s.PortEnd) + "/" + s.Proto)
	return b.String()
}

func portRange(a, b uint16) string {
	if a == b {
		return strconv.Itoa(int(a))
	}
	return strconv.Itoa(int(a)) + "-" + strconv.Itoa(int(b))
}

// ParseSpec parses a publish spec.
func ParseSpec(text string) (Spec, error) {
	s := Spec{Proto: "tcp"}
	rest := text
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		s.Proto, rest = rest[i+1:], rest[:i]
		if s.Proto != "tcp" && s.Proto != "udp" {
			return Spec{}, fmt.Errorf("port spec %q: protocol %q: want tcp or udp", text, s.Proto)
		}
	}
	if strings.HasPrefix(rest, "[") { // [IPv6]:...
		end := strings.Index(rest, "]:")
		if end < 0 {
			return Spec{}, fmt.Errorf("port spec %q: unterminated [address]", text)
		}
		ip, err := netip.ParseAddr(rest[1:end])
		if err != nil {
			return Spec{}, fmt.Errorf("port spec %q: host address: %w", text, err)
		}
		s.HostIP, rest = ip, rest[end+2:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) == 4 && !s.HostIP.IsValid() {
		ip, err := netip.ParseAddr(parts[0])
		if err != nil {
			return Spec{}, fmt.Errorf("port spec %q: host address: %w", text, err)
		}
		s.HostIP, parts = ip, parts[1:]
	}
	if len(parts) != 3 || parts[1] == "" {
		return Spec{}, fmt.Errorf("port spec %q: want [HOSTIP:]HOSTPORT[-END]:ENDPOINT:PORT[-END][/tcp|/udp]", text)
	}
	var err error
	if s.HostPort, s.HostEnd, err = parseRange(parts[0]); err != nil {
		return Spec{}, fmt.Errorf("port spec %q: host port: %w", text, err)
	}
	s.Endpoint = parts[1]
	if s.Port, s.PortEnd, err = parseRange(parts[2]); err != nil {
		return Spec{}, fmt.Errorf("port spec %q: endpoint port: %w", text, err)
	}
	if s.HostEnd-s.HostPort != s.PortEnd-s.Port {
		return Spec{}, fmt.Errorf("port spec %q: host range has %d ports, endpoint range %d", text, s.HostEnd-s.HostPort+1, s.PortEnd-s.Port+1)
	}
	return s, nil
}

func parseRange(t string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(t, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || a == 0 {
		return 0, 0, fmt.Errorf("bad port %q (1-65535)", lo)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
			return 0, 0, fmt.Errorf("bad port range %q", t)
		}
	}
	return uint16(a), uint16(b), nil
}
