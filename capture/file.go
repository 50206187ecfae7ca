package capture

import (
	"fmt"
	"os"
	"sync"
)

// File records a session into a pcapng file from creation to Close (the
// --pcap options): register Session() with the hubs to capture.
type File struct {
	s    *Session
	f    *os.File
	w    *PcapngWriter
	stop chan struct{}
	wg   sync.WaitGroup
	err  error
}

// CreateFile creates (truncates) path, mode 0600, and starts writing;
// multiNetwork names interfaces network/port.
func CreateFile(path string, multiNetwork bool) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	p := &File{s: NewSession(Config{}), f: f, stop: make(chan struct{}), w: NewPcapngWriter(f, 262144, multiNetwork)}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// Session is the session feeding the file.
func (p *File) Session() *Session { return p.s }

func (p *File) run() {
	defer p.wg.Done()
	for {
		r, ok := p.s.Next(p.stop)
		if !ok {
			return
		}
		p.write(r)
		if p.s.Pending() == 0 {
			p.w.Flush()
		}
	}
}

func (p *File) write(r Record) {
	err := p.w.WriteFrame(Frame{Network: r.Network, Port: r.Port, Dir: r.Dir, Time: r.Time, OrigLen: r.OrigLen, Data: r.Data()})
	p.s.Release(r)
	if err != nil && p.err == nil {
		p.err = err
	}
}

// Close writes what is queued and the statistics, and closes the file.
// Remove the session from its hubs first.
func (p *File) Close() error {
	close(p.stop)
	p.wg.Wait()
	for p.s.Pending() > 0 {
		r, _ := p.s.Next(nil)
		p.write(r)
	}
	_, dropped := p.s.Stats()
	p.s.Close()
	err := p.w.Close(dropped)
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.err
	}
	return err
}
