package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

var (
	errTooLong          = errors.New("message longer than 65535 bytes")
	errQuestionMismatch = errors.New("answer is for another question")
)

// forward resolves req through the upstreams, in order, and returns the
// reply for the client: the first upstream answer that is not SERVFAIL,
// REFUSED or NOTIMP (else the last such answer), with the client's ID and
// question; SERVFAIL if there are no upstreams or they all failed.
func (s *Server) forward(ctx context.Context, req *mdns.Msg) *mdns.Msg {
	if len(s.cfg.Upstreams) == 0 {
		return s.servFail(req)
	}
	s.stats.forwarded.Add(1)
	q := req.Copy()
	var resp *mdns.Msg
	for _, up := range s.cfg.Upstreams {
		if ctx.Err() != nil {
			break
		}
		q.Id = mdns.Id() // a fresh ID per exchange, not the client's
		r, err := s.exchangeUpstream(ctx, up, q)
		if err != nil {
			s.stats.upstreamErrors.Add(1)
			s.cfg.Log.Debug("dns: upstream failed", "upstream", up, "name", q.Question[0].Name, "err", err)
			continue
		}
		resp = r
		if !tryNext(r.Rcode) {
			break
		}
	}
	if resp == nil {
		return s.servFail(req)
	}
	resp.Id = req.Id
	resp.Question = append([]mdns.Question(nil), req.Question...)
	if req.IsEdns0() == nil { // RFC 6891 6.1.1: no OPT to a client that sent none
		resp.Extra = slices.DeleteFunc(resp.Extra, func(rr mdns.RR) bool { return rr.Header().Rrtype == mdns.TypeOPT })
	}
	return resp
}

// exchangeUpstream sends q to upstream addr over UDP and, if the answer is
// truncated, again over TCP, all within the configured timeout. If the TCP
// retry fails the truncated answer is returned: the client retries itself.
func (s *Server) exchangeUpstream(ctx context.Context, addr string, q *mdns.Msg) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	r, err := exchange(ctx, "udp", addr, q)
	if err != nil {
		return nil, fmt.Errorf("udp exchange with %s: %w", addr, err)
	}
	if !r.Truncated {
		return r, nil
	}
	tr, err := exchange(ctx, "tcp", addr, q)
	if err != nil {
		s.stats.upstreamErrors.Add(1)
		s.cfg.Log.Debug("dns: tcp retry of truncated answer failed", "upstream", addr, "err", err)
		return r, nil
	}
	return tr, nil
}

// exchange sends q to addr over network ("udp" or "tcp") and reads its
// answer. It gives up when ctx is done, even in the middle of a read.
func exchange(ctx context.Context, network, addr string, q *mdns.Msg) (*mdns.Msg, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()

	co := &mdns.Conn{Conn: c, UDPSize: maxMsgLen}
	if err := co.WriteMsg(q); err != nil {
		return nil, fmt.Errorf("write query: %w", err)
	}
	for {
		r, err := co.ReadMsg()
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return nil, fmt.Errorf("read answer: %w", err)
		}
		if r.Id != q.Id {
			if network == "udp" {
				continue // a late answer to an earlier query; keep waiting
			}
			return nil, fmt.Errorf("read answer: %w", mdns.ErrId)
		}
		// Error answers may come without the question section.
		errNoQ := r.Rcode != mdns.RcodeSuccess && len(r.Question) == 0
		if !r.Response || !(errNoQ || sameQuestion(r.Question, q.Question)) {
			return nil, fmt.Errorf("read answer: %w", errQuestionMismatch)
		}
		return r, nil
	}
}

// tryNext reports whether an upstream answering rcode should be passed over
// for the next one.
func tryNext(rcode int) bool {
	return rcode == mdns.RcodeServerFailure || rcode == mdns.RcodeRefused || rcode == mdns.RcodeNotImplemented
}

// sameQuestion compares question sections, ignoring the names' case.
func sameQuestion(a, b []mdns.Question) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Qtype != b[i].Qtype || a[i].Qclass != b[i].Qclass || !strings.EqualFold(a[i].Name, b[i].Name) {
			return false
		}
	}
	return true
}
