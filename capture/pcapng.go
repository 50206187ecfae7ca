package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	vswitch "github.com/switchyard/switchyard/switch"
)

// PcapngWriter writes frames as pcapng with one interface per switch port,
// named after the port (the endpoint's name, or "gateway"), so Wireshark
// shows which port each frame came through. With several networks in one
// file the names are "network/port".
//
// Enhanced packet blocks carry the direction (option epb_flags: inbound
// for frames a port received from its peer, outbound for frames sent to
// it); pcapgo writes blocks without options, so the writer writes those
// itself, after flushing pcapgo's buffer into its own.
type PcapngWriter struct {
	out     *bufio.Writer
	w       *pcapgo.NgWriter
	hdr     [36]byte
	snaplen int
	multi   bool
	ifaces  map[string]int
	counts  []uint64
}

// NewPcapngWriter returns a writer; multiNetwork prefixes interface names
// with the network. Nothing is written until the first port or frame.
func NewPcapngWriter(out io.Writer, snaplen int, multiNetwork bool) *PcapngWriter {
	return &PcapngWriter{out: bufio.NewWriterSize(out, 64<<10), snaplen: snaplen, multi: multiNetwork, ifaces: map[string]int{}}
}

func (p *PcapngWriter) ifaceName(network, port string) string {
	if p.multi {
		return network + "/" + port
	}
	return port
}

// AddPort adds an interface for a port (frames of unknown ports add theirs
// on the fly); it returns the interface index.
func (p *PcapngWriter) AddPort(network, port string) (int, error) {
	name := p.ifaceName(network, port)
	if i, ok := p.ifaces[name]; ok {
		return i, nil
	}
	intf := pcapgo.NgInterface{Name: name, Description: "switchyard network " + network + " port " + port,
		LinkType: layers.LinkTypeEthernet, SnapLength: uint32(p.snaplen), OS: "switchyard"}
	var i int
	var err error
	if p.w == nil {
		p.w, err = pcapgo.NewNgWriterInterface(p.out, intf, pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Application: "switchyard capture"}})
	} else {
		i, err = p.w.AddInterface(intf)
	}
	if err != nil {
		return 0, fmt.Errorf("pcapng interface %s: %w", name, err)
	}
	p.ifaces[name] = i
	p.counts = append(p.counts, 0)
	return i, nil
}

// WriteFrame writes one frame.
func (p *PcapngWriter) WriteFrame(f Frame) error {
	i, err := p.AddPort(f.Network, f.Port)
	if err != nil {
		return err
	}
	p.counts[i]++
	if err := p.w.Flush(); err != nil { // pcapgo's blocks first, in order
		return fmt.Errorf("pcapng: %w", err)
	}
	if err := p.writeEPB(i, f); err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	return nil
}

// pcapng enhanced packet block constants (RFC draft-ietf-opsawg-pcapng).
const (
	blockEPB       = 0x00000006
	optEPBFlags    = 2
	epbInbound     = 1 // epb_flags bits 0-1: direction
	epbOutbound    = 2
	epbFixedLen    = 28 // type, length, interface, timestamp, lengths
	epbOptionsLen  = 12 // epb_flags (4+4) and opt_endofopt (4)
	epbTrailingLen = 4
)

// writeEPB writes f as an enhanced packet block on interface i with its
// direction in epb_flags; timestamps are in nanoseconds, the resolution
// pcapgo declares for every interface.
func (p *PcapngWriter) writeEPB(i int, f Frame) error {
	n := len(f.Data)
	pad := (4 - n&3) & 3
	total := epbFixedLen + n + pad + epbOptionsLen + epbTrailingLen
	ts := uint64(f.Time.UnixNano())
	le := binary.LittleEndian
	h := p.hdr[:]
	le.PutUint32(h[0:], blockEPB)
	le.PutUint32(h[4:], uint32(total))
	le.PutUint32(h[8:], uint32(i))
	le.PutUint32(h[12:], uint32(ts>>32))
	le.PutUint32(h[16:], uint32(ts))
	le.PutUint32(h[20:], uint32(n))
	le.PutUint32(h[24:], uint32(max(f.OrigLen, n)))
	if _, err := p.out.Write(h[:epbFixedLen]); err != nil {
		return err
	}
	if _, err := p.out.Write(f.Data); err != nil {
		return err
	}
	flags := uint32(epbInbound)
	if f.Dir == vswitch.Out {
		flags = epbOutbound
	}
	var zero [3]byte
	p.out.Write(zero[:pad])
	le.PutUint16(h[0:], optEPBFlags)
	le.PutUint16(h[2:], 4)
	le.PutUint32(h[4:], flags)
	le.PutUint32(h[8:], 0) // opt_endofopt
	le.PutUint32(h[12:], uint32(total))
	_, err := p.out.Write(h[:16])
	return err
}

// Flush writes buffered data out.
func (p *PcapngWriter) Flush() error {
	if p.w == nil {
		return nil
	}
	if err := p.w.Flush(); err != nil {
		return err
	}
	return p.out.Flush()
}

// Close writes per-interface statistics (frames seen; the session's drops
// on the first interface) and flushes.
func (p *PcapngWriter) Close(dropped uint64) error {
	if p.w == nil {
		return nil
	}
	for i, n := range p.counts {
		st := pcapgo.NgInterfaceStatistics{PacketsReceived: n, PacketsDropped: 0}
		if i == 0 {
			st.PacketsDropped = dropped
		}
		if err := p.w.WriteInterfaceStats(i, st); err != nil {
			return fmt.Errorf("pcapng statistics: %w", err)
		}
	}
	return p.Flush()
}
