//go:build !linux

package daemon

// hostPrefixes knows only loopback off Linux.
func hostPrefixes() ([]hostPrefix, error) { return nil, nil }
