// Package api defines switchyard's control API: the JSON documents the
// daemon serves over its unix socket and a client for them. Routes:
//
//	GET    /v1/networks                        list networks
//	POST   /v1/networks                        create (NetworkCreate)
//	DELETE /v1/networks/{name}                 remove
//	POST   /v1/networks/{name}/endpoints       attach (EndpointCreate)
//	DELETE /v1/networks/{name}/endpoints/{ep}  detach
//	GET    /v1/endpoints[?network=NAME]        list endpoints
//	GET    /v1/networks/{name}/fdb             forwarding table
//	GET    /v1/stats                           counters
//	GET    /v1/conntrack[?network=NAME]        NAT flows
//	GET    /v1/hosts                           cluster members
//
// Errors come back as {"error": "..."} with a 4xx/5xx status.
package api

import (
	"time"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/switchyard/switchyard.sock"

// NetworkCreate asks for a new network.
type NetworkCreate struct {
	Name    string `json:"name"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway,omitempty"`
	// Subnet6 makes the network dual-stack: its IPv6 subnet, with
	// Gateway6 the gateway's IPv6 address (default: the subnet's first).
	// IPv6 without Subnet6 picks a unique local /64.
	Subnet6  string `json:"subnet6,omitempty"`
	Gateway6 string `json:"gateway6,omitempty"`
	IPv6     bool   `json:"ipv6,omitempty"`
	VLAN     uint16 `json:"vlan,omitempty"`
	// MTU is the network's MTU: the gateway's and the endpoints' default
	// (1500).
	MTU int `json:"mtu,omitempty"`
	// AllowHostLoopback lets connections to the gateway address on ports
	// without a gateway service reach the host's 127.0.0.1.
	AllowHostLoopback bool `json:"allow_host_loopback,omitempty"`
	// DHCP is "on" or "off"; empty means on for user-defined networks
	// and off for the built-in ones (Docker has no DHCP).
	DHCP string `json:"dhcp,omitempty"`
	// DHCPRange is the pool of dynamic leases, a CIDR inside the subnet
	// or FIRST-LAST (default: the subnet's last quarter). attach never
	// hands out these addresses, so DHCP clients cannot exhaust it.
	DHCPRange string `json:"dhcp_range,omitempty"`
	// Driver is "bridge" (the default: one host) or "overlay" (VXLAN
	// across hosts, created on every host of the cluster store).
	Driver string `json:"driver,omitempty"`
	// VNI is an overlay network's VXLAN network identifier; 0 allocates
	// one from 4096 up (4096 without a cluster store).
	VNI uint32 `json:"vni,omitempty"`
	// VXLANPort is an overlay network's UDP port (4789).
	VXLANPort int `json:"vxlan_port,omitempty"`
	// Peers are VTEPs that are not cluster members (e.g. Linux vxlan
	// devices); broadcast and unknown unicast are replicated to them.
	Peers []string `json:"peers,omitempty"`
	// Parent is an uplink network's host interface, IFACE or IFACE.VLAN
	// (Docker's macvlan spelling: eth1.10 is VLAN 10 on eth1).
	Parent string `json:"parent,omitempty"`
	// IPRange is the part of an uplink network's subnet attach hands out
	// (CIDR or FIRST-LAST; default the whole subnet), apart from the LAN's
	// own DHCP pool.
	IPRange string `json:"ip_range,omitempty"`
	// AuxAddresses are addresses of an uplink network's subnet used by
	// other LAN hosts: never handed out.
	AuxAddresses []string `json:"aux_addresses,omitempty"`
	// DNSAddr is an uplink network's resolver address: a free address of
	// the subnet where the network's endpoints (only they) resolve each
	// other's names; empty: no resolver.
	DNSAddr string `json:"dns_addr,omitempty"`
	// AllowOverlap lets the subnet overlap the host's routes and
	// addresses (refused by default, as in Docker; loopback, 0/8 and
	// multicast are refused always).
	AllowOverlap bool `json:"allow_overlap,omitempty"`
}

// Network drivers.
const (
	DriverBridge  = "bridge"
	DriverOverlay = "overlay"
	// DriverUplink puts a network's endpoints straight on a host
	// interface (or one VLAN of it), like Docker's macvlan.
	DriverUplink = "uplink"
)

// Network describes a network.
type Network struct {
	Name    string `json:"name"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway"`
	// Subnet6 and Gateway6 are a dual-stack network's IPv6 subnet and
	// gateway address ("" when the network is IPv4 only).
	Subnet6           string `json:"subnet6"`
	Gateway6          string `json:"gateway6"`
	GatewayMAC        string `json:"gateway_mac"`
	VLAN              uint16 `json:"vlan"`
	MTU               int    `json:"mtu"`
	AllowHostLoopback bool   `json:"allow_host_loopback"`
	DNSNames          bool   `json:"dns_names"`
	Builtin           bool   `json:"builtin"`
	Endpoints         int    `json:"endpoints"`
	// DHCP says whether the gateway serves DHCP; DHCPRange is its pool
	// of dynamic leases (empty: only `attach --dhcp` endpoints).
	DHCP      bool   `json:"dhcp"`
	DHCPRange string `json:"dhcp_range"`
	// Driver is bridge or overlay; VNI, VXLANPort and Peers describe an
	// overlay network.
	Driver    string   `json:"driver"`
	VNI       uint32   `json:"vni"`
	VXLANPort int      `json:"vxlan_port"`
	Peers     []string `json:"peers"`
	// Parent, IPRange, AuxAddresses and DNSAddr describe an uplink
	// network.
	Parent       string   `json:"parent"`
	IPRange      string   `json:"ip_range"`
	AuxAddresses []string `json:"aux_addresses"`
	DNSAddr      string   `json:"dns_addr"`
}

// Flow is one NAT connection-tracking entry.
type Flow struct {
	Proto    string        `json:"proto"`
	Endpoint string        `json:"endpoint"`
	Dest     string        `json:"destination"`
	Target   string        `json:"target"`
	BytesOut uint64        `json:"bytes_out"`
	BytesIn  uint64        `json:"bytes_in"`
	Age      time.Duration `json:"age_ns"`
}

// NATStats are a network's NAT counters.
type NATStats struct {
	TCPFlows        int    `json:"tcp_flows"`
	UDPFlows        int    `json:"udp_flows"`
	RefusedFull     uint64 `json:"refused_table_full"`
	RefusedPolicy   uint64 `json:"refused_policy"`
	DialFailed      uint64 `json:"dial_failed"`
	ICMPUnsupported string `json:"icmp_unsupported"`
	ICMPForwarded   uint64 `json:"icmp_forwarded"`
	ICMPDropped     uint64 `json:"icmp_dropped"`
}

// Conntrack is one network's NAT flows, the answer to GET /v1/conntrack.
type Conntrack struct {
	Network string   `json:"network"`
	Flows   []Flow   `json:"flows"`
	Stats   NATStats `json:"stats"`
}

// EndpointCreate attaches a network namespace to a network.
type EndpointCreate struct {
	// Netns is a path, a name under /var/run/netns, or pid:N.
	Netns string `json:"netns"`
	Name  string `json:"name,omitempty"`
	IP    string `json:"ip,omitempty"`
	// IP6 chooses the endpoint's IPv6 address on a dual-stack network
	// (default: the lowest free one).
	IP6    string `json:"ip6,omitempty"`
	MAC    string `json:"mac,omitempty"`
	IfName string `json:"ifname,omitempty"`
	MTU    int    `json:"mtu,omitempty"`
	// Aliases are extra DNS names of the endpoint on this network.
	Aliases []string `json:"aliases,omitempty"`
	// DHCP leaves the interface without an address: a DHCP client in the
	// namespace gets the endpoint's reserved address from the gateway.
	DHCP bool `json:"dhcp,omitempty"`
	// NoPortSecurity lets the endpoint send from any MAC and claim any
	// free address (a nested bridge or VMs behind it). By default a port
	// sends only from its MAC and claims only its own address in ARP/ND.
	NoPortSecurity bool `json:"no_port_security,omitempty"`
	// NoResolvConf leaves /etc/netns/NAME/resolv.conf alone; by default
	// attaching a named namespace writes it (the gateway's DNS and the
	// network's search domain).
	NoResolvConf bool `json:"no_resolv_conf,omitempty"`
}

// Endpoint describes an attached endpoint.
type Endpoint struct {
	Name    string `json:"name"`
	Network string `json:"network"`
	Netns   string `json:"netns"`
	IfName  string `json:"ifname"`
	MAC     string `json:"mac"`
	IP      string `json:"ip"`
	// IP6 is the endpoint's IPv6 address with prefix length on a
	// dual-stack network ("" otherwise); a --dhcp endpoint's is the
	// address it configures by SLAAC.
	IP6          string   `json:"ip6"`
	MTU          int      `json:"mtu"`
	DefaultRoute bool     `json:"default_route"`
	Offload      bool     `json:"offload"`
	Aliases      []string `json:"aliases"`
	DHCP         bool     `json:"dhcp"`
	// SourceTable is the routing table of the endpoint's source rule
	// (`ip rule from IP lookup TABLE` in its namespace), which sends
	// replies from IP out through this network; 0 when the endpoint has
	// none (it carries the namespace's default route, or uses DHCP).
	SourceTable int `json:"source_table"`
	// PortSecurity is whether the endpoint's port is locked to its MAC
	// and address.
	PortSecurity bool `json:"port_security"`
	// ResolvConf is the /etc/netns/NAME/resolv.conf the daemon keeps for
	// the endpoint's namespace ("" when none: not a named namespace,
	// NoResolvConf, or a file the daemon did not write was there).
	ResolvConf string `json:"resolv_conf"`
	// Host is the cluster member the endpoint lives on (overlay networks
	// on a cluster store); endpoints of other hosts have only Name,
	// Network, MAC, IP, Aliases and Host.
	Host string `json:"host"`
}

// FDBEntry is one learned MAC address.
type FDBEntry struct {
	MAC  string        `json:"mac"`
	VLAN uint16        `json:"vlan"`
	Port string        `json:"port"`
	Age  time.Duration `json:"age_ns"`
	// Pinned marks an address owned by a port with port security: it
	// never ages, moves or gets evicted.
	Pinned bool `json:"pinned"`
	// VTEP is the remote host a MAC behind an overlay tunnel lives on;
	// Static says it comes from the cluster store (not learned).
	VTEP   string `json:"vtep"`
	Static bool   `json:"static"`
}

// Host is a cluster member (GET /v1/hosts).
type Host struct {
	Name          string        `json:"name"`
	Advertise     string        `json:"advertise"`
	Lease         int64         `json:"lease"`
	Started       time.Time     `json:"started"`
	TTL           time.Duration `json:"ttl_ns"`
	LastKeepAlive time.Time     `json:"last_keepalive"`
	Self          bool          `json:"self"`
}

// PortStats are one switch port's counters.
type PortStats struct {
	Name     string `json:"name"`
	RxFrames uint64 `json:"rx_frames"`
	RxBytes  uint64 `json:"rx_bytes"`
	RxDrops  uint64 `json:"rx_drops"`
	TxFrames uint64 `json:"tx_frames"`
	TxBytes  uint64 `json:"tx_bytes"`
	TxDrops  uint64 `json:"tx_drops"`
	Errors   uint64 `json:"errors"`
	// PortSecurity is whether the port is locked to its addresses.
	PortSecurity bool `json:"port_security"`
	// Security counts the frames port security dropped, by reason (also
	// counted in RxDrops).
	Security SecurityDrops `json:"security"`
	// Learned is how many forwarding entries point at the port.
	Learned int64 `json:"learned"`
}

// SecurityDrops are one port's port-security drops by reason.
type SecurityDrops struct {
	// SrcMAC: frames of a locked port from a source MAC not its own.
	SrcMAC uint64 `json:"src_mac"`
	// MACOwned: frames from a MAC another port (an endpoint, the gateway)
	// owns.
	MACOwned uint64 `json:"mac_owned"`
	// ARP: ARP claiming an address or MAC the port may not claim.
	ARP uint64 `json:"arp"`
	// ND: IPv6 neighbour discovery claiming another's address or MAC, and
	// router advertisements or redirects from a locked port.
	ND uint64 `json:"nd"`
	// Tagged: frames of a locked port carrying another VLAN tag.
	Tagged uint64 `json:"tagged"`
}

// Total is the sum of the drops.
func (s SecurityDrops) Total() uint64 { return s.SrcMAC + s.MACOwned + s.ARP + s.ND + s.Tagged }

// NetworkStats are one network's counters.
type NetworkStats struct {
	Network    string `json:"network"`
	FDBEntries int64  `json:"fdb_entries"`
	FDBMax     int64  `json:"fdb_max"`
	FDBEvicted uint64 `json:"fdb_evicted"`
	// FDBLimited counts MACs not learned because their port (one without
	// port security) reached its cap.
	FDBLimited uint64       `json:"fdb_limited"`
	Floods     uint64       `json:"floods"`
	Ports      []PortStats  `json:"ports"`
	NAT        NATStats     `json:"nat"`
	Gateway    GatewayStats `json:"gateway"`
	DNS        DNSStats     `json:"dns"`
	DHCP       DHCPStats    `json:"dhcp"`
	// Uplink counts what an uplink network's host interface dropped
	// before the switch (shared by the networks of one parent); null for
	// other networks.
	Uplink *UplinkStats `json:"uplink"`
}

// UplinkStats are the counters of an uplink network's host interface.
type UplinkStats struct {
	Parent string `json:"parent"`
	// RxOtherVLAN counts frames of VLANs (or untagged frames) no network
	// on the parent carries.
	RxOtherVLAN uint64 `json:"rx_other_vlan"`
	// RxHost counts frames for the interface's own MAC (the host's).
	RxHost uint64 `json:"rx_host"`
	RxBad  uint64 `json:"rx_bad"`
	// RxDrops counts this network's frames dropped on a full queue;
	// TxErrors frames the kernel refused.
	RxDrops  uint64 `json:"rx_drops"`
	TxErrors uint64 `json:"tx_errors"`
	// TxDrops counts frames dropped on the socket's full send buffer.
	TxDrops uint64 `json:"tx_drops"`
}

// GatewayStats are a network gateway's own counters.
type GatewayStats struct {
	ToStack     uint64 `json:"to_stack"`
	FromStack   uint64 `json:"from_stack"`
	QueueDrops  uint64 `json:"queue_drops"`
	BadChecksum uint64 `json:"bad_checksum"`
	Malformed   uint64 `json:"malformed"`
}

// Stats is the answer to GET /v1/stats.
type Stats struct {
	Networks []NetworkStats `json:"networks"`
	// Proxy is the userspace path of published ports.
	Proxy ProxyStats `json:"proxy"`
}

// Error is the body of every error reply.
type Error struct {
	Error string `json:"error"`
}

// CaptureRequest starts a capture (POST /v1/capture). The reply is a
// stream of frames in the capture package's stream format.
type CaptureRequest struct {
	// Network to capture on ("default" when empty).
	Network string `json:"network,omitempty"`
	// Ports restricts the capture to these ports (endpoint names,
	// "gateway"); empty means every port of the network.
	Ports []string `json:"ports,omitempty"`
	// Filter is a pcap-filter expression.
	Filter string `json:"filter,omitempty"`
	// Snaplen truncates frames (262144).
	Snaplen int `json:"snaplen,omitempty"`
	// Count stops after this many frames; Duration after this long.
	Count    int           `json:"count,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Both records egress copies too. By default each frame is recorded
	// once, on the port it entered by; with Ports given, both directions
	// of those ports are recorded (as tcpdump on an interface does).
	Both bool `json:"both,omitempty"`
}

// Publish paths: kernel DNAT, the userspace proxy, or both (the default,
// as Docker: either alone keeps the port reachable).
const (
	PathBoth      = "both"
	PathKernel    = "kernel"
	PathUserspace = "userspace"
)

// PublishRequest publishes ports (POST /v1/networks/{name}/ports).
type PublishRequest struct {
	// Spec is [HOSTIP:]HOSTPORT[-END]:ENDPOINT:PORT[-END][/tcp|/udp].
	Spec string `json:"spec"`
	// Path is both (default), kernel or userspace.
	Path string `json:"path,omitempty"`
}

// Published is a published port mapping.
type Published struct {
	Network string `json:"network"`
	Spec    string `json:"spec"`
	// Path is the path the mapping got: the one asked for, or userspace
	// where the kernel path cannot serve it (Note says why).
	Path    string `json:"path"`
	Backend string `json:"backend"`
	// Note explains a path narrower than the one asked for.
	Note string `json:"note"`
	// Proxy holds the userspace path's counters of this mapping (summed
	// over its ports); null on the kernel path alone.
	Proxy *ProxyStats `json:"proxy"`
}

// Repair is the answer to POST /v1/ports/repair: one line saying what the
// daemon found and did.
type Repair struct {
	Message string `json:"message"`
}
