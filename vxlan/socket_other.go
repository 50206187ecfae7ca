//go:build !linux

package vxlan

import (
	"errors"
	"sync"

	"github.com/switchyard/switchyard/port"
)

var errUnsupported = errors.New("vxlan: needs Linux")

// Socket is unavailable off Linux.
type Socket struct {
	port uint16
	rdMu sync.Mutex
}

// Listen fails: the tunnel data plane needs Linux.
func Listen(Config) (*Socket, error) { return nil, errUnsupported }

// Port returns 0.
func (s *Socket) Port() int { return 0 }

// Tunnel fails off Linux.
func (s *Socket) Tunnel(TunnelConfig) (*Tunnel, error) { return nil, errUnsupported }

// Tunnels returns 0.
func (s *Socket) Tunnels() int { return 0 }

// Close does nothing.
func (s *Socket) Close() error { return nil }

// Stats returns zero counters.
func (s *Socket) Stats() SocketStats { return SocketStats{} }

func (s *Socket) remove(*Tunnel) {}

func (s *Socket) readBatch() error { return errUnsupported }

func (s *Socket) wakeOthers(*Tunnel) {}

func (s *Socket) isClosed() bool { return true }

func (s *Socket) kick() {}

type writer struct{}

func newWriter(*Socket) writer { return writer{} }

// WriteFrames fails off Linux.
func (t *Tunnel) WriteFrames([]*port.Frame) (int, error) { return 0, port.ErrClosed }
