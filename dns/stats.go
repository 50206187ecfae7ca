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
	// IdleClosed counts idle TCP connections closed to make room for a
	// new one at MaxTCPConns.
	IdleClosed uint64 `json:"idle_closed"`
	// Responses counts replies sent by rcode name (NOERROR, NXDOMAIN,
	// SERVFAIL, FORMERR...).
	Responses map[string]uint64 `json:"responses,omitempty"`
}

// counters is the live, atomically updated form of Stats.
type counters struct {
	queries, local, forwarded, upstreamErrors atomic.Uint64
	nxdomain, servfail, malformed, overloaded atomic.Uint64
	idleClosed                                atomic.Uint64
	rcodes                                    [16]atomic.Uint64
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
		IdleClosed:     c.idleClosed.Load(),
		Responses:      c.responses(),
	}
}

// responses reports the non-zero per-rcode reply counts by rcode name.
func (c *counters) responses() map[string]uint64 {
	out := map[string]uint64{}
	for rc := range c.rcodes {
		if n := c.rcodes[rc].Load(); n > 0 {
			out[mdns.RcodeToString[rc]] = n
		}
	}
	return out
}

// countReply counts a reply about to be sent by its rcode.
func (c *counters) countReply(m *mdns.Msg) {
	c.rcodes[m.Rcode&0xf].Add(1)
	switch m.Rcode {
	case mdns.RcodeNameError:
		c.nxdomain.Add(1)
	case mdns.RcodeServerFailure:
		c.servfail.Add(1)
	}
}
