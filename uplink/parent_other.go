//go:build !linux

package uplink

import (
	"errors"

	"github.com/switchyard/switchyard/port"
)

// errNotLinux is returned by Open on other systems: AF_PACKET is Linux's.
var errNotLinux = errors.New("uplink: AF_PACKET sockets need Linux")

// Open fails: AF_PACKET sockets need Linux.
func Open(Config) (*Parent, error) { return nil, errNotLinux }

type reader struct{}

func (reader) free() {}

type writer struct{}

func newWriter(*Parent) writer { return writer{} }

// WriteFrames fails: AF_PACKET sockets need Linux.
func (l *Link) WriteFrames([]*port.Frame) (int, error) { return 0, errNotLinux }
