package uplink

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/switchyard/switchyard/port"
)

// linkTable maps VLAN IDs (0: untagged) to links; replaced copy-on-write.
type linkTable [MaxVLAN + 1]*Link

// Parent is one host interface shared by the Links of its VLANs.
type Parent struct {
	cfg   Config
	file  *os.File
	rc    syscall.RawConn
	mac   net.HardwareAddr
	hmac  [6]byte // mac as an array for the per-frame comparison
	mtu   int
	links atomic.Pointer[linkTable]
	mu    sync.Mutex // serialises link add/remove and Close
	n     int        // links, guarded by mu
	// closed is set by Close; done is closed when the reader returned.
	closed atomic.Bool
	done   chan struct{}
	rd     reader
	st     parentCounters
}

// parentCounters are written by the reader goroutine.
type parentCounters struct {
	rxFrames, rxOther, rxHost, rxBad, rxErrors atomic.Uint64
}

// Interface returns the parent's interface name.
func (p *Parent) Interface() string { return p.cfg.Interface }

// MAC returns the interface's own hardware address.
func (p *Parent) MAC() net.HardwareAddr { return p.mac }

// MTU returns the interface's MTU when the parent was opened.
func (p *Parent) MTU() int { return p.mtu }

// Link adds the port of one VLAN (0: untagged frames) to the parent.
func (p *Parent) Link(cfg LinkConfig) (*Link, error) {
	if cfg.VLAN > MaxVLAN {
		return nil, fmt.Errorf("uplink %s: VLAN %d out of range 0-%d", p.cfg.Interface, cfg.VLAN, MaxVLAN)
	}
	if cfg.Name == "" {
		cfg.Name = linkName(p.cfg.Interface, cfg.VLAN)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return nil, ErrClosedParent
	}
	old := p.links.Load()
	if old[cfg.VLAN] != nil {
		return nil, fmt.Errorf("uplink %s VLAN %d: %w", p.cfg.Interface, cfg.VLAN, ErrVLANInUse)
	}
	l := newLink(p, cfg)
	next := *old
	next[cfg.VLAN] = l
	p.links.Store(&next)
	p.n++
	return l, nil
}

// remove forgets l (its Close calls it).
func (p *Parent) remove(l *Link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.links.Load()
	if old[l.cfg.VLAN] != l {
		return
	}
	next := *old
	next[l.cfg.VLAN] = nil
	p.links.Store(&next)
	p.n--
}

// Links returns how many links use the parent.
func (p *Parent) Links() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Stats returns the parent's counters.
func (p *Parent) Stats() Stats {
	return Stats{RxFrames: p.st.rxFrames.Load(), RxOtherVLAN: p.st.rxOther.Load(), RxHost: p.st.rxHost.Load(),
		RxBad: p.st.rxBad.Load(), RxErrors: p.st.rxErrors.Load(), Links: p.Links()}
}

// Close closes the socket and waits for the reader. Links still on the
// parent fail with port.ErrClosed.
func (p *Parent) Close() error {
	p.mu.Lock()
	if p.closed.Swap(true) {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	err := p.file.Close()
	<-p.done
	p.rd.free()
	if err != nil {
		return fmt.Errorf("uplink %s: close: %w", p.cfg.Interface, err)
	}
	return nil
}

// isHost reports whether d is a unicast frame for the interface itself.
func (p *Parent) isHost(d []byte) bool {
	return d[0]&1 == 0 && [6]byte(d[:6]) == p.hmac
}

// dispatch hands a received frame to its VLAN's link. It returns true
// when the link kept f (the reader then needs a fresh buffer).
func (p *Parent) dispatch(f *port.Frame, a aux, links *linkTable) bool {
	d := f.Data()
	if len(d) < port.EthHdrLen {
		p.st.rxBad.Add(1)
		return false
	}
	if p.isHost(d) {
		p.st.rxHost.Add(1)
		return false
	}
	vid, tci, insert, ok := frameVLAN(a, d)
	l := links[vid]
	if !ok || l == nil {
		p.st.rxOther.Add(1)
		return false
	}
	if insert {
		insertTag(f, tci)
	}
	return l.accept(f)
}
