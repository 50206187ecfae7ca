package portmap

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
)

// TablePrefix starts the name of every nftables table switchyard creates.
const TablePrefix = "switchyard"

// TableName names the table of the daemon serving socket: TablePrefix,
// '-' and a hash of the socket path, so that concurrent daemons (one per
// host namespace, a test daemon beside a real one) never touch each
// other's rules, and a restarted daemon finds what its crashed
// predecessor left.
func TableName(socket string) string {
	h := fnv.New32a()
	h.Write([]byte(socket))
	return fmt.Sprintf("%s-%08x", TablePrefix, h.Sum32())
}

// Mapping is one published range on the kernel path: host ports
// HostPort..HostEnd map one to one to Dest's ports from DestPort.
type Mapping struct {
	Proto    string     // "tcp" or "udp"
	HostIP   netip.Addr // invalid or unspecified: every local address
	HostPort uint16
	HostEnd  uint16 // == HostPort for a single port
	Dest     netip.Addr
	DestPort uint16
}

// MappingOf is the kernel-path mapping of a publish spec to backend.
func MappingOf(s Spec, backend netip.Addr) Mapping {
	return Mapping{Proto: s.Proto, HostIP: s.HostIP, HostPort: s.HostPort, HostEnd: s.HostEnd, Dest: backend, DestPort: s.Port}
}

// String describes the mapping as nft would.
func (m Mapping) String() string {
	return fmt.Sprintf("%s %s:%s -> %s:%s", m.Proto, m.hostIP(), portRange(m.HostPort, m.HostEnd),
		m.Dest, portRange(m.DestPort, m.DestPort+(m.HostEnd-m.HostPort)))
}

func (m Mapping) hostIP() netip.Addr {
	if m.HostIP.IsValid() && !m.HostIP.IsUnspecified() {
		return m.HostIP
	}
	return netip.IPv4Unspecified()
}

// Shifted reports whether endpoint ports differ from host ports: nftables
// NAT has no port offset, so such a range needs one map element per port
// (in a hash map: O(1) per element); an unshifted range is one interval
// element whatever its size.
func (m Mapping) Shifted() bool { return m.HostPort != m.DestPort }

// mapKind is which of a protocol's three maps holds a mapping.
type mapKind int

const (
	kindRange    mapKind = iota // unshifted: daddr range . dport range -> addr
	kindPort                    // shifted, every local address: dport -> addr . port
	kindAddrPort                // shifted, one host address: daddr . dport -> addr . port
)

var mapKinds = []mapKind{kindRange, kindPort, kindAddrPort}

func (m Mapping) kind() mapKind {
	switch {
	case !m.Shifted():
		return kindRange
	case m.hostIP().IsUnspecified():
		return kindPort
	}
	return kindAddrPort
}

// Check rejects a mapping the kernel path cannot install.
func (m Mapping) Check() error {
	switch {
	case m.Proto != "tcp" && m.Proto != "udp":
		return fmt.Errorf("mapping %s: protocol %q: want tcp or udp", m, m.Proto)
	case m.HostIP.IsValid() && !m.HostIP.Is4():
		return fmt.Errorf("mapping %s: the kernel path is IPv4 only", m)
	case !m.Dest.Is4():
		return fmt.Errorf("mapping %s: backend must be an IPv4 address", m)
	case m.HostPort == 0 || m.HostEnd < m.HostPort:
		return fmt.Errorf("mapping %s: bad host port range", m)
	case int(m.DestPort)+int(m.HostEnd-m.HostPort) > 0xffff || m.DestPort == 0:
		return fmt.Errorf("mapping %s: endpoint port range exceeds 65535", m)
	}
	return nil
}

// Overlaps reports whether two mappings would catch the same packets:
// same protocol, overlapping host ports and host addresses (an
// unspecified one overlaps every address).
func (m Mapping) Overlaps(o Mapping) bool {
	if m.Proto != o.Proto || m.HostEnd < o.HostPort || o.HostEnd < m.HostPort {
		return false
	}
	a, b := m.hostIP(), o.hostIP()
	return a == b || a.IsUnspecified() || b.IsUnspecified()
}

// element is one map element; keyEnd only in interval maps.
type element struct {
	key, keyEnd, val []byte
}

// elements encodes the mapping's map elements in nftables' layout (network
// byte order; every field of a concatenation padded to 4 bytes).
func (m Mapping) elements() []element {
	host, dest := m.hostIP().As4(), m.Dest.As4()
	if m.kind() == kindRange {
		hi := host
		if m.hostIP().IsUnspecified() {
			hi = [4]byte{255, 255, 255, 255}
		}
		return []element{{key: concatKey(host, m.HostPort), keyEnd: concatKey(hi, m.HostEnd), val: dest[:]}}
	}
	out := make([]element, 0, int(m.HostEnd-m.HostPort)+1)
	for i := 0; i <= int(m.HostEnd-m.HostPort); i++ {
		p := m.HostPort + uint16(i)
		key := binary.BigEndian.AppendUint16(nil, p)
		if m.kind() == kindAddrPort {
			key = concatKey(host, p)
		}
		out = append(out, element{key: key, val: concatKey(dest, m.DestPort+uint16(i))})
	}
	return out
}

// concatKey is addr . port as an 8-byte nftables concatenation.
func concatKey(addr [4]byte, port uint16) []byte {
	b := make([]byte, 8)
	copy(b, addr[:])
	binary.BigEndian.PutUint16(b[4:], port)
	return b
}
