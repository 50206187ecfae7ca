// Package filter compiles pcap-filter(7) expressions, the language of
// tcpdump's filter argument, for Ethernet frames into classic BPF and
// runs them with the pure-Go golang.org/x/net/bpf VM (no cgo, no
// libpcap).
//
// Semantics follow libpcap on DLT_EN10MB. Supported:
//
//	expr      := unary { ("and" | "&&" | "or" | "||") unary }
//	unary     := ("not" | "!") unary | "(" expr ")" | primitive
//	primitive := [proto] [dir] [type] id [("/" len) | ("mask" netmask)]
//	           | [proto] [dir] [type] "(" id { (and|or) [not] id } ")"
//	           | proto                  (ip ip6 arp rarp tcp udp sctp icmp icmp6)
//	           | "vlan" [ID]
//	           | [ether|ip|ip6] ("broadcast" | "multicast")
//	           | id                     (repeats the previous qualifiers)
//	proto     := ether | link | ip | ip6 | arp | rarp | tcp | udp | sctp | icmp | icmp6
//	dir       := src | dst | src or dst | src and dst
//	type      := host | net | port | portrange
//
// An id is an IPv4 address (possibly short: "net 10", "net 192.168"),
// an IPv6 address, a MAC address (with "ether"), a port number or
// well-known service name, or a port range "LO-HI". Numbers may be
// hexadecimal (0x50) or octal (0120) as in libpcap.
//
// libpcap behaviours that are reproduced on purpose:
//
//   - "and" and "or" have equal precedence and associate to the left;
//     "not" binds tightest: "a or b and c" is "(a or b) and c".
//   - A bare id inherits the previous qualifiers: "host a or b" is
//     "host a or host b", "tcp dst port 80 or 443" repeats "tcp dst port".
//   - "host A" matches IPv4 source/destination and ARP/RARP
//     sender/target addresses; "host" with an IPv6 address matches IPv6
//     only.
//   - "port" matches TCP, UDP and SCTP over IPv4 (locating the transport
//     header from the IHL, first fragments only) and over IPv6 (when the
//     transport header directly follows the fixed header).
//   - Every "vlan" shifts the offsets of all the primitives after it in
//     the expression by 4 bytes, whatever the expression structure: in
//     "vlan or arp" the ARP test applies to the encapsulated frame.
//   - A load beyond the end of a truncated frame rejects the frame, even
//     under "not".
//
// Everything else (byte-offset and arithmetic expressions, "greater",
// "less", "len", "gateway", "proto", "protochain", "mpls", names that
// need resolution, ...) is refused with an *Error naming the part, which
// wraps ErrUnsupported.
package filter
