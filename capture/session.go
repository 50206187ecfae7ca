// Package capture records the frames crossing switch ports, for
// `switchyard capture` and `--pcap`: a Session receives copies of the
// frames of the ports it watches into a bounded queue (dropping and
// counting when its reader is slow, never slowing the switch), and writers
// turn them into pcapng (one interface per port) or tcpdump-like lines.
package capture

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
	vswitch "github.com/switchyard/switchyard/switch"
)

// Matcher decides whether a frame is captured (a compiled filter).
type Matcher interface{ Match(frame []byte) bool }

// Config configures a Session. Zero fields take defaults.
type Config struct {
	// Filter selects frames; nil captures everything.
	Filter Matcher
	// Snaplen truncates captured frames (262144, tcpdump's default).
	Snaplen int
	// Both records frames in both directions. By default a frame is
	// recorded once, on the port it entered the switch by (direction
	// In): its egress copies on the ports it leaves by would show every
	// segment twice (Wireshark marks the second as a retransmission).
	Both bool
	// QueueFrames and QueueBytes bound the frames waiting for the reader
	// (4096 frames, 64 MiB); beyond them frames are dropped and counted.
	QueueFrames int
	QueueBytes  int64
}

// Record is one captured frame.
type Record struct {
	Network, Port string
	Dir           vswitch.Direction
	Time          time.Time
	// OrigLen is the frame's length on the wire; Data may be shorter
	// (snaplen).
	OrigLen int
	frame   *port.Frame
}

// Data returns the captured bytes.
func (r *Record) Data() []byte { return r.frame.Data() }

// Session is one running capture.
type Session struct {
	cfg      Config
	q        chan Record
	inBytes  atomic.Int64
	captured atomic.Uint64
	dropped  atomic.Uint64
	done     chan struct{}
	once     sync.Once
}

// NewSession returns a session; register it with a Hub to feed it.
func NewSession(cfg Config) *Session {
	if cfg.Snaplen <= 0 {
		cfg.Snaplen = 262144
	}
	if cfg.QueueFrames <= 0 {
		cfg.QueueFrames = 4096
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = 64 << 20
	}
	return &Session{cfg: cfg, q: make(chan Record, cfg.QueueFrames), done: make(chan struct{})}
}

// offer copies the matching frames of a batch into the queue. It runs on
// the forwarding path: no blocking, no allocation (pooled copies).
func (s *Session) offer(network, portName string, dir vswitch.Direction, fs []*port.Frame, now time.Time) {
	if dir == vswitch.Out && !s.cfg.Both {
		return
	}
	for _, f := range fs {
		data := f.Data()
		if s.cfg.Filter != nil && !s.cfg.Filter.Match(data) {
			continue
		}
		if s.inBytes.Load() > s.cfg.QueueBytes {
			s.dropped.Add(1)
			continue
		}
		c := port.Clone(f)
		if c.VNet.Flags&offload.FlagNeedsCsum != 0 {
			// A super-frame or partial checksum from a TAP: complete it so
			// readers see valid checksums (lengths are already right).
			offload.Checksum(&c.VNet, c.Data())
		}
		orig := c.Len
		c.Len = min(c.Len, s.cfg.Snaplen)
		select {
		case s.q <- Record{Network: network, Port: portName, Dir: dir, Time: now, OrigLen: orig, frame: c}:
			s.inBytes.Add(int64(c.Len))
			s.captured.Add(1)
		default:
			port.Put(c)
			s.dropped.Add(1)
		}
	}
}

// Next returns the next record, waiting until one arrives, the session is
// closed (ok false) or stop is closed (ok false). Release the record after
// use.
func (s *Session) Next(stop <-chan struct{}) (r Record, ok bool) {
	select {
	case r = <-s.q:
		s.inBytes.Add(-int64(r.frame.Len))
		return r, true
	case <-s.done:
		return Record{}, false
	case <-stop:
		return Record{}, false
	}
}

// Pending returns how many records wait for the reader.
func (s *Session) Pending() int { return len(s.q) }

// Release returns a record's buffer to the pool.
func (s *Session) Release(r Record) { port.Put(r.frame) }

// Stats returns how many frames were captured (queued for the reader) and
// dropped (the reader was too slow).
func (s *Session) Stats() (captured, dropped uint64) {
	return s.captured.Load(), s.dropped.Load()
}

// Close ends the session (Next returns false) and frees queued frames.
// Unregister it from its hubs first.
func (s *Session) Close() {
	s.once.Do(func() { close(s.done) })
	for {
		select {
		case r := <-s.q:
			port.Put(r.frame)
		default:
			return
		}
	}
}
