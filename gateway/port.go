package gateway

import (
	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// switchPort is the link seen from the switch. (stack.LinkEndpoint and
// port.Port both have a Close method, with different signatures, so the
// two faces are two types.)
type switchPort struct{ l *link }

var _ port.Port = switchPort{}

// ReadFrames returns frames the stack sent. It swaps its own pooled frames
// into fs (the frames it replaces go back to the pool), avoiding a copy of
// every 64 KiB segment.
func (p switchPort) ReadFrames(fs []*port.Frame) (int, error) {
	l := p.l
	var f *port.Frame
	select {
	case f = <-l.out:
	case <-l.closed:
		return 0, port.ErrClosed
	}
	n := 0
	for {
		port.Put(fs[n])
		fs[n] = f
		n++
		if n == len(fs) {
			return n, nil
		}
		select {
		case f = <-l.out:
		default:
			return n, nil
		}
	}
}

// WriteFrames hands frames from the switch to the stack, after checksum
// verification for frames no kernel vouched for and the intercepts (ARP
// for other addresses, DHCP, ICMP echo to outside).
func (p switchPort) WriteFrames(fs []*port.Frame) (int, error) {
	l := p.l
	select {
	case <-l.closed:
		return 0, port.ErrClosed
	default:
	}
	for _, f := range fs {
		data := f.Data()
		if len(data) < port.EthHdrLen {
			l.stats.malformed.Add(1)
			continue
		}
		vouched := f.VNet.Flags&(offload.FlagNeedsCsum|offload.FlagDataValid) != 0
		if !vouched && !checksumsValid(data) {
			l.stats.badChecksum.Add(1)
			continue
		}
		if l.intercept != nil && l.intercept(data) {
			continue
		}
		l.deliver(f)
	}
	return len(fs), nil
}

// Info: the gateway takes super-frames and partial checksums (gVisor
// handles large segments; the TAP's kernel vouched for the checksum), and
// never blocks its caller.
func (p switchPort) Info() port.Info {
	return port.Info{Name: p.l.name, MTU: int(p.l.MTU()), Offload: true,
		MaxFrame: port.MaxSuperFrame, NonBlocking: true}
}

// Close closes the link.
func (p switchPort) Close() error {
	p.l.Close()
	return nil
}
