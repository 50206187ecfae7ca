package proxy

import "sync/atomic"

// Stats are the counters of a mapping, or their sum over mappings.
type Stats struct {
	// Accepted counts TCP connections accepted or UDP flows created.
	Accepted uint64
	// Active is the number of TCP connections or UDP flows open now.
	Active int64
	// DialFailures counts backend dials that failed (the client's
	// connection was then closed, or its datagram dropped).
	DialFailures uint64
	// AcceptErrors counts failed accepts (TCP) or reads (UDP) on the
	// listening socket; serving goes on after a pause.
	AcceptErrors uint64
	// BytesIn counts payload bytes relayed from clients to backends. A
	// spliced TCP direction adds its bytes every MiB and when it ends.
	BytesIn uint64
	// BytesOut counts payload bytes relayed from backends to clients.
	BytesOut uint64
	// DatagramsIn and DatagramsOut count UDP datagrams relayed each way.
	DatagramsIn, DatagramsOut uint64
	// Refused counts UDP datagrams of new clients dropped because the
	// flow table was full.
	Refused uint64
	// Expired counts UDP flows ended by the idle timeout.
	Expired uint64
}

func (s *Stats) add(o Stats) {
	s.Accepted += o.Accepted
	s.Active += o.Active
	s.DialFailures += o.DialFailures
	s.AcceptErrors += o.AcceptErrors
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.DatagramsIn += o.DatagramsIn
	s.DatagramsOut += o.DatagramsOut
	s.Refused += o.Refused
	s.Expired += o.Expired
}

// counters are a mapping's live Stats.
type counters struct {
	accepted, dialFailures, acceptErrors atomic.Uint64
	bytesIn, bytesOut                    atomic.Uint64
	datagramsIn, datagramsOut            atomic.Uint64
	active                               atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Accepted:     c.accepted.Load(),
		Active:       c.active.Load(),
		DialFailures: c.dialFailures.Load(),
		AcceptErrors: c.acceptErrors.Load(),
		BytesIn:      c.bytesIn.Load(),
		BytesOut:     c.bytesOut.Load(),
		DatagramsIn:  c.datagramsIn.Load(),
		DatagramsOut: c.datagramsOut.Load(),
	}
}
