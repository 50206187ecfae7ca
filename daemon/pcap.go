package daemon

import (
	"fmt"
	"os"
	"sync"

	"github.com/switchyard/switchyard/capture"
)

// pcapFile is the capture `switchyard up --pcap FILE` runs from start-up
// to shutdown: every port of every network, written as pcapng with
// interfaces named network/port.
type pcapFile struct {
	s    *capture.Session
	f    *os.File
	w    *capture.PcapngWriter
	stop chan struct{}
	wg   sync.WaitGroup
	err  error
}

func openPcap(path string) (*pcapFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	p := &pcapFile{s: capture.NewSession(capture.Config{}), f: f, stop: make(chan struct{}),
		w: capture.NewPcapngWriter(f, 262144, true)}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// run writes records until close.
func (p *pcapFile) run() {
	defer p.wg.Done()
	for {
		r, ok := p.s.Next(p.stop)
		if !ok {
			return
		}
		err := p.w.WriteFrame(capture.Frame{Network: r.Network, Port: r.Port, Dir: r.Dir, Time: r.Time, OrigLen: r.OrigLen, Data: r.Data()})
		p.s.Release(r)
		if err != nil && p.err == nil {
			p.err = err
		}
		if p.s.Pending() == 0 {
			p.w.Flush()
		}
	}
}

// close drains what is queued, writes the statistics and closes the file.
// The session must already be removed from every hub.
func (p *pcapFile) close() error {
	close(p.stop)
	p.wg.Wait()
	for p.s.Pending() > 0 {
		r, _ := p.s.Next(nil)
		p.w.WriteFrame(capture.Frame{Network: r.Network, Port: r.Port, Dir: r.Dir, Time: r.Time, OrigLen: r.OrigLen, Data: r.Data()})
		p.s.Release(r)
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
