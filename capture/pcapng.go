package capture

import (
	"fmt"
	"io"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// PcapngWriter writes frames as pcapng with one interface per switch port,
// named after the port (the endpoint's name, or "gateway"), so Wireshark
// shows which port each frame came through. With several networks in one
// file the names are "network/port".
type PcapngWriter struct {
	out     io.Writer
	w       *pcapgo.NgWriter
	snaplen int
	multi   bool
	ifaces  map[string]int
	counts  []uint64
}

// NewPcapngWriter returns a writer; multiNetwork prefixes interface names
// with the network. Nothing is written until the first port or frame.
func NewPcapngWriter(out io.Writer, snaplen int, multiNetwork bool) *PcapngWriter {
	return &PcapngWriter{out: out, snaplen: snaplen, multi: multiNetwork, ifaces: map[string]int{}}
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
	ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.OrigLen, InterfaceIndex: i}
	if err := p.w.WritePacket(ci, f.Data); err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	return nil
}

// Flush writes buffered data out.
func (p *PcapngWriter) Flush() error {
	if p.w == nil {
		return nil
	}
	return p.w.Flush()
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
	return p.w.Flush()
}
