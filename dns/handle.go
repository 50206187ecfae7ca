package dns

import (
	"context"
	"encoding/binary"
	"strings"

	mdns "github.com/miekg/dns"
)

const (
	headerLen = 12     // a DNS header's length
	maxMsgLen = 0xffff // the largest message TCP's length prefix allows
	ednsSize  = 1232   // the UDP payload size advertised in local answers
)

// handle answers one wire-format query synchronously, forwarding it if
// needed. It returns the reply to send, or nil to send nothing. udp says
// whether the reply must fit the client's UDP payload size.
func (s *Server) handle(ctx context.Context, b []byte, udp bool) []byte {
	reply, req, fwd := s.resolve(b)
	if fwd {
		if s.acquireForward() {
			reply = s.forward(ctx, req)
			s.releaseForward()
		} else {
			reply = s.overloaded(req)
		}
	}
	return s.finish(reply, req, udp)
}

// resolve decodes query b and answers it locally if it can. It returns the
// reply (nil: drop the message) or, with fwd true, the decoded query to
// forward upstream. req is the decoded query, nil if b did not decode.
func (s *Server) resolve(b []byte) (reply, req *mdns.Msg, fwd bool) {
	s.stats.queries.Add(1)
	if len(b) < headerLen || b[2]&0x80 != 0 {
		// No header to answer, or a response: replying to responses could
		// start a loop between two servers.
		s.stats.malformed.Add(1)
		return nil, nil, false
	}
	if opcode := int(b[2]>>3) & 0xf; opcode != mdns.OpcodeQuery {
		return headerReply(b, mdns.RcodeNotImplemented), nil, false
	}
	if !countsOK(b) {
		s.stats.malformed.Add(1)
		return headerReply(b, mdns.RcodeFormatError), nil, false
	}
	req = new(mdns.Msg)
	if err := req.Unpack(b); err != nil || len(req.Question) != 1 {
		s.stats.malformed.Add(1)
		s.cfg.Log.Debug("dns: malformed query", "len", len(b), "err", err)
		return headerReply(b, mdns.RcodeFormatError), nil, false
	}
	q := req.Question[0]
	if !s.cfg.ResolveNames || (q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY) {
		return nil, req, true
	}
	reply = new(mdns.Msg)
	reply.SetReply(req)
	if s.table.Load().answer(reply, q, s.cfg.TTL) {
		s.stats.local.Add(1)
		return s.local(reply, req), req, false
	}
	if inDomain(strings.ToLower(q.Name), s.cfg.Domain) {
		s.stats.local.Add(1)
		reply.Rcode = mdns.RcodeNameError
		return s.local(reply, req), req, false
	}
	return nil, req, true
}

// local completes a reply made from the record set.
func (s *Server) local(reply, req *mdns.Msg) *mdns.Msg {
	reply.Authoritative = true
	reply.RecursionAvailable = len(s.cfg.Upstreams) > 0
	if req.IsEdns0() != nil {
		reply.SetEdns0(ednsSize, false)
	}
	return reply
}

// countsOK checks the section counts in the header of query b: exactly one
// question, and no more records in the other sections than a query may
// carry (as miekg/dns's DefaultMsgAcceptFunc: 1 answer, 1 authority, 2
// additional).
func countsOK(b []byte) bool {
	qd, an := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	ns, ar := binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	return qd == 1 && an <= 1 && ns <= 1 && ar <= 2
}

// headerReply builds a reply with rcode and no records to the query whose
// header is in b (at least headerLen bytes long), for queries that are not
// decoded.
func headerReply(b []byte, rcode int) *mdns.Msg {
	m := new(mdns.Msg)
	m.Id = binary.BigEndian.Uint16(b)
	m.Response = true
	m.Opcode = int(b[2]>>3) & 0xf
	m.RecursionDesired = b[2]&0x01 != 0
	m.Rcode = rcode
	return m
}

// servFail builds a SERVFAIL reply to req.
func (s *Server) servFail(req *mdns.Msg) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetRcode(req, mdns.RcodeServerFailure)
	m.RecursionAvailable = len(s.cfg.Upstreams) > 0
	return m
}

// overloaded answers a query that found every forwarding slot taken.
func (s *Server) overloaded(req *mdns.Msg) *mdns.Msg {
	s.stats.overloaded.Add(1)
	s.cfg.Log.Debug("dns: forwarding limit reached", "max", s.cfg.MaxForwards)
	return s.servFail(req)
}

// acquireForward takes a forwarding slot if one is free.
func (s *Server) acquireForward() bool {
	select {
	case s.fwdSem <- struct{}{}:
		return true
	default:
		return false
	}
}

// releaseForward returns a slot taken by acquireForward.
func (s *Server) releaseForward() { <-s.fwdSem }

// finish counts reply and encodes it, truncated to the client's UDP payload
// size if udp. It returns nil for a nil reply.
func (s *Server) finish(reply, req *mdns.Msg, udp bool) []byte {
	if reply == nil {
		return nil
	}
	if udp {
		reply.Truncate(udpSize(req))
	} else {
		reply.Compress = true
	}
	b, err := reply.Pack()
	if err == nil && len(b) > maxMsgLen {
		err = errTooLong
	}
	if err != nil {
		s.cfg.Log.Debug("dns: cannot encode reply", "err", err)
		if req == nil || reply.Rcode == mdns.RcodeServerFailure {
			return nil
		}
		return s.finish(s.servFail(req), req, udp)
	}
	s.stats.countReply(reply)
	return b
}

// udpSize is the largest UDP reply the client of req accepts.
func udpSize(req *mdns.Msg) int {
	if req != nil {
		if opt := req.IsEdns0(); opt != nil {
			return max(int(opt.UDPSize()), mdns.MinMsgSize)
		}
	}
	return mdns.MinMsgSize
}
