package api

// DNSStats are a network gateway's DNS server counters.
type DNSStats struct {
	Queries        uint64 `json:"queries"`
	Local          uint64 `json:"local"`
	Forwarded      uint64 `json:"forwarded"`
	UpstreamErrors uint64 `json:"upstream_errors"`
	Malformed      uint64 `json:"malformed"`
	Overloaded     uint64 `json:"overloaded"`
	// IdleClosed counts idle TCP connections closed to admit a new one at
	// the connection cap.
	IdleClosed uint64 `json:"idle_closed"`
	// Responses counts replies sent, by rcode name (NOERROR, NXDOMAIN...).
	Responses map[string]uint64 `json:"responses"`
}

// DHCPStats are a network gateway's DHCP server counters.
type DHCPStats struct {
	// Leases is the number of addresses bound or offered now.
	Leases        int    `json:"leases"`
	Discovers     uint64 `json:"discovers"`
	Requests      uint64 `json:"requests"`
	Acks          uint64 `json:"acks"`
	Naks          uint64 `json:"naks"`
	Malformed     uint64 `json:"malformed"`
	PoolExhausted uint64 `json:"pool_exhausted"`
	// SourceCapped counts refusals because one source MAC (one port)
	// holds its share of dynamic leases already (included above).
	SourceCapped uint64 `json:"source_capped"`
}

// ProxyStats are the counters of the userspace path of published ports,
// summed over every mapping.
type ProxyStats struct {
	// Accepted counts TCP connections accepted and UDP flows created.
	Accepted uint64 `json:"accepted"`
	// Active is the number of connections and flows open now.
	Active       int64  `json:"active"`
	DialFailures uint64 `json:"dial_failures"`
	// AcceptErrors counts failed accepts (TCP) and reads (UDP).
	AcceptErrors uint64 `json:"accept_errors"`
	BytesIn      uint64 `json:"bytes_in"`
	BytesOut     uint64 `json:"bytes_out"`
	// Refused counts UDP datagrams dropped as the flow table was full.
	Refused uint64 `json:"refused"`
	// Expired counts UDP flows ended by the idle timeout.
	Expired uint64 `json:"expired"`
	// DatagramsIn and DatagramsOut count UDP datagrams relayed each way.
	DatagramsIn  uint64 `json:"datagrams_in"`
	DatagramsOut uint64 `json:"datagrams_out"`
}
