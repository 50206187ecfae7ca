//go:build !linux

package tap

import (
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/port"
)

// errUnsupported is returned on systems without Linux TAP devices.
var errUnsupported = errors.New("TAP devices are only supported on Linux")

// Open is not supported outside Linux; it always fails.
func Open(cfg Config) (*Device, error) {
	return nil, fmt.Errorf("tap %s: %w", cfg.Name, errUnsupported)
}

// ReadFrames is not supported outside Linux; it always fails.
func (d *Device) ReadFrames(fs []*port.Frame) (int, error) { return 0, errUnsupported }

// WriteFrames is not supported outside Linux; it always fails.
func (d *Device) WriteFrames(fs []*port.Frame) (int, error) { return 0, errUnsupported }

// Remove is not supported outside Linux; it always fails.
func Remove(netns, name string) (bool, error) {
	return false, fmt.Errorf("tap %s: %w", name, errUnsupported)
}

// SetPersist is not supported outside Linux; it always fails.
func (d *Device) SetPersist(bool) error { return errUnsupported }
