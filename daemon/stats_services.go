package daemon

import (
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/dhcp"
	"github.com/switchyard/switchyard/proxy"
)

// serviceStats reports the counters of a network gateway's DNS and DHCP
// servers (zero without a gateway).
func (s *services) serviceStats() (api.DNSStats, api.DHCPStats) {
	if s == nil {
		return api.DNSStats{}, api.DHCPStats{}
	}
	ds := s.dns.Stats()
	var hs dhcp.Stats
	if s.dhcp != nil {
		hs = s.dhcp.Stats()
	}
	return api.DNSStats{Queries: ds.Queries, Local: ds.Local, Forwarded: ds.Forwarded,
			UpstreamErrors: ds.UpstreamErrors, Malformed: ds.Malformed, Overloaded: ds.Overloaded, IdleClosed: ds.IdleClosed,
			Responses: ds.Responses},
		api.DHCPStats{Leases: hs.Leases, Discovers: hs.Discovers, Requests: hs.Requests, Acks: hs.Acks,
			Naks: hs.Naks, Malformed: hs.Malformed, PoolExhausted: hs.PoolExhausted, SourceCapped: hs.SourceCapped}
}

// proxyStats reports the userspace publish path's counters.
func (d *Daemon) proxyStats() api.ProxyStats {
	return apiProxyStats(d.proxy.Stats())
}

// apiProxyStats converts the proxy's counters for the API.
func apiProxyStats(ps proxy.Stats) api.ProxyStats {
	return api.ProxyStats{Accepted: ps.Accepted, Active: ps.Active, DialFailures: ps.DialFailures,
		AcceptErrors: ps.AcceptErrors, BytesIn: ps.BytesIn, BytesOut: ps.BytesOut, Refused: ps.Refused,
		Expired: ps.Expired, DatagramsIn: ps.DatagramsIn, DatagramsOut: ps.DatagramsOut}
}
