package dns

import (
	"sync/atomic"

	mdns "github.com/miekg/dns"
)

// Stats are a server's counters since New.
type Stats struct {
	// Queries counts messages received (UDP datagrams, TCP messages).
	Queries uint64 `json:"queries"`
	// Local counts queries answered from the record set, including NODATA
	// and NXDOMAIN answers for names under the domain.
	Local uint64 `json:"local"`
	// Forwarded counts queries sent upstream.
	Forwarded uint64 `json:"forwarded"`
	// UpstreamErrors counts failed exchanges with an upstream (timeouts,
	// network errors, bad answers); the next upstream is then tried.
	UpstreamErrors uint64 `json:"upstream_errors"`
	// NXDomain counts NXDOMAIN replies, local or forwarded.
	NXDomain uint64 `json:"nxdomain"`
	// ServFail counts SERVFAIL replies: no upstream, all upstreams failed,
	// overload, or an upstream's own SERVFAIL.
	ServFail uint64 `json:"servfail"`
	// Malformed counts messages that could not be decoded or were not a
	// single-question query: answered FORMERR when the header parses,
	// dropped otherwise.
	Malformed uint64 `json:"malformed"`
	// Overloaded counts queries refused because MaxForwards forwards were
	// in progress and TCP connections refused at MaxTCPConns.
	Overloaded uint64 `json:"overloaded"`
}

// counters is the live, atomically updated form of Stats.
type counters struct {
	queries, local, forwarded, upstreamErrors atomic.Uint64
	nxdomain, servfail, malformed, overloaded atomic.Uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Queries:        c.queries.Load(),
		Local:          c.local.Load(),
		Forwarded:      c.forwarded.Load(),
		UpstreamErrors: c.upstreamErrors.Load(),
		NXDomain:       c.nxdomain.Load(),
		ServFail:       c.servfail.Load(),
		Malformed:      c.malformed.Load(),
		Overloaded:     c.overloaded.Load(),
	}
}

// countReply counts a reply about to be sent by its rcode.
func (c *counters) countReply(m *mdns.Msg) {
	switch m.Rcode {
	case mdns.RcodeNameError:
		c.nxdomain.Add(1)
	case mdns.RcodeServerFailure:
		c.servfail.Add(1)
	}
}
