package vswitch

import (
	"github.com/switchyard/switchyard/port"
)

// ingress forwards the first n frames of the reader's batch. Frames handed
// to egress queues are replaced by fresh buffers; dropped frames stay for
// reuse.
func (s *Switch) ingress(rd *reader, n int) {
	now := s.cfg.Clock.Now().UnixNano()
	ports := *s.ports.Load()
	rd.cl = s.claims.Load()
	in := rd.in
	s.observe(in, In, rd.batch[:n])
	var bytes uint64
	for i, f := range rd.batch[:n] {
		bytes += uint64(f.Len)
		g := f
		if f.Len <= port.SmallBuf-port.Headroom && f.Cap() > port.SmallBuf {
			// Keep the big buffer for the next read; queue a small copy.
			g = port.Clone(f)
		}
		switch {
		case s.forward(rd, g, ports, now):
			if g == f {
				rd.batch[i] = port.Get(in.info.MaxFrame)
			} else {
				f.Reset()
			}
		case g != f:
			port.Put(g)
			f.Reset()
		default:
			f.Reset()
		}
	}
	in.c.rxFrames.Add(uint64(n))
	in.c.rxBytes.Add(bytes)
	rd.flushTouched()
}

// forward makes the forwarding decision for one frame and reports whether
// the frame was handed on (ownership transferred).
func (s *Switch) forward(rd *reader, f *port.Frame, ports []*portState, now int64) bool {
	in := rd.in
	if f.Len < port.EthHdrLen || !in.classify(f) {
		in.c.rxDrops.Add(1)
		return false
	}
	d := f.Data()
	if d[6]&1 != 0 || isZeroMAC(d[6:12]) {
		// A multicast or zero source address is invalid (IEEE 802.1D).
		in.c.rxDrops.Add(1)
		return false
	}
	if (in.sec.locked || len(rd.cl.macs) > 0) && !in.admit(rd.cl, d) {
		in.c.rxDrops.Add(1)
		return false
	}
	s.fdb.learn(makeKey(d[6:12], f.VLAN), in, now)
	if d[0]&1 == 0 {
		if out := s.fdb.lookup(makeKey(d[0:6], f.VLAN), now); out != nil && out.alive.Load() {
			if out == in {
				// Destination lives behind the ingress port: filter.
				return false
			}
			rd.enqueue(out, f)
			return true
		}
	}
	return s.flood(rd, f, ports)
}

// flood sends f to every port of its VLAN except the ingress port: copies
// to all but the last, the original to the last.
func (s *Switch) flood(rd *reader, f *port.Frame, ports []*portState) bool {
	in := rd.in
	var last *portState
	for _, p := range ports {
		if p == in || !p.admits(f.VLAN) {
			continue
		}
		if last != nil {
			rd.enqueue(last, port.Clone(f))
		}
		last = p
	}
	if last == nil {
		return false
	}
	s.floods.Add(1)
	rd.enqueue(last, f)
	return true
}

func isZeroMAC(b []byte) bool {
	return b[0]|b[1]|b[2]|b[3]|b[4]|b[5] == 0
}
