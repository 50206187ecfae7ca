package filter

// protoQual is a pcap-filter protocol qualifier ("ether", "ip", "tcp"...).
type protoQual uint8

const (
	pDefault protoQual = iota
	pLink
	pIP
	pIP6
	pARP
	pRARP
	pTCP
	pUDP
	pSCTP
	pICMP
	pICMP6
)

// protoWords maps the supported protocol keywords to qualifiers.
var protoWords = map[string]protoQual{
	"ether": pLink, "link": pLink, "ip": pIP, "ip6": pIP6, "arp": pARP,
	"rarp": pRARP, "tcp": pTCP, "udp": pUDP, "sctp": pSCTP, "icmp": pICMP,
	"icmp6": pICMP6,
}

// String returns the keyword of the qualifier.
func (p protoQual) String() string {
	for w, q := range protoWords {
		if q == p && w != "link" {
			return w
		}
	}
	return "default"
}

// dirQual is a direction qualifier.
type dirQual uint8

const (
	dDefault dirQual = iota // src or dst
	dSrc
	dDst
	dOr  // "src or dst"
	dAnd // "src and dst"
)

// addrQual is a type qualifier: what kind of thing the id names.
type addrQual uint8

const (
	aDefault addrQual = iota // host
	aHost
	aNet
	aPort
	aPortRange
)

// addrWords maps the supported type keywords to qualifiers.
var addrWords = map[string]addrQual{
	"host": aHost, "net": aNet, "port": aPort, "portrange": aPortRange,
}

// qual is the qualifier list of a primitive.
type qual struct {
	proto protoQual
	dir   dirQual
	addr  addrQual
}

// unsupportedWords are pcap-filter keywords this package refuses. They
// are recognised so the error can say "unsupported" rather than
// "syntax error".
var unsupportedWords = map[string]bool{
	"greater": true, "less": true, "len": true, "gateway": true, "proto": true,
	"protochain": true, "mpls": true, "pppoed": true, "pppoes": true,
	"geneve": true, "vxlan": true, "llc": true, "inbound": true,
	"outbound": true, "ifname": true, "on": true, "rnr": true, "rulenum": true,
	"reason": true, "rset": true, "ruleset": true, "srnr": true,
	"subrulenum": true, "action": true, "type": true, "subtype": true,
	"dir": true, "wlan": true, "radio": true, "atalk": true, "aarp": true,
	"decnet": true, "lat": true, "sca": true, "moprc": true, "mopdl": true,
	"iso": true, "esis": true, "es-is": true, "isis": true, "is-is": true,
	"l1": true, "l2": true, "iih": true, "lsp": true, "snp": true,
	"csnp": true, "psnp": true, "clnp": true, "stp": true, "ipx": true,
	"netbeui": true, "igmp": true, "igrp": true, "pim": true, "vrrp": true,
	"carp": true, "ah": true, "esp": true, "fddi": true, "tr": true,
	"ppp": true, "slip": true, "ra": true, "ta": true, "addr1": true,
	"addr2": true, "addr3": true, "addr4": true, "lane": true, "oam": true,
	"oamf4": true, "oamf4s": true, "oamf4e": true, "metac": true, "bcc": true,
	"sc": true, "ilmic": true, "connectmsg": true, "metaconnect": true,
	"vpi": true, "vci": true, "fisu": true, "lssu": true, "msu": true,
	"hfisu": true, "hlssu": true, "hmsu": true, "sio": true, "opc": true,
	"dpc": true, "sls": true, "hsio": true, "hopc": true, "hdpc": true,
	"hsls": true, "index": true,
}

// isKeyword reports whether w is a pcap-filter keyword (and therefore
// cannot be used as an id).
func isKeyword(w string) bool {
	_, p := protoWords[w]
	_, a := addrWords[w]
	return p || a || unsupportedWords[w] || w == "src" || w == "dst" ||
		w == "vlan" || w == "broadcast" || w == "multicast" || w == "mask"
}

// node is an expression tree node: *binNode, *notNode or *primNode.
type node interface{ nodePos() int }

// binNode is "l and r" (and=true) or "l or r".
type binNode struct {
	and  bool
	l, r node
}

// notNode is "not x".
type notNode struct {
	x   node
	pos int
}

// primKind distinguishes primitives.
type primKind uint8

const (
	primID        primKind = iota // qualifiers + id, e.g. "src host 10.0.0.1"
	primProto                     // protocol alone, e.g. "tcp"
	primVlan                      // "vlan" or "vlan ID"
	primBroadcast                 // "[ether] broadcast"
	primMulticast                 // "[ether|ip|ip6] multicast"
)

// primNode is one primitive. vlan is the number of "vlan" keywords
// before it in the expression: libpcap shifts the offsets of everything
// after a "vlan" by four bytes, regardless of the expression structure.
type primNode struct {
	kind    primKind
	pos     int  // offset of the primitive's first token
	q       qual // qualifiers (primID, primProto, broadcast/multicast)
	id      string
	idPos   int
	mask    string // prefix length after "/" or netmask after "mask"
	maskPos int
	slash   bool // mask is a prefix length
	hasMask bool
	vid     int // VLAN ID for primVlan, -1 for any
	vlan    int
}

func (n *binNode) nodePos() int  { return n.l.nodePos() }
func (n *notNode) nodePos() int  { return n.pos }
func (n *primNode) nodePos() int { return n.pos }
