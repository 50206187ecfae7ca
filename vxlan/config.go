package vxlan

import (
	"log/slog"
	"net/netip"
)

// Config describes a VXLAN socket. Zero fields take defaults.
type Config struct {
	// Netns is the network namespace of the underlay, as a nsutil spec;
	// empty means the caller's.
	Netns string
	// Addr is the local address to bind (all addresses when invalid).
	Addr netip.Addr
	// Port is the UDP port VXLAN is received on and sent to (DefaultPort;
	// LinuxPort is the kernel's and flannel's default).
	Port int
	// SourcePorts is how many sending sockets, each on its own ephemeral
	// UDP port, flows are spread over by a hash of their inner headers (8),
	// so ECMP on the underlay spreads them as it does the kernel's.
	SourcePorts int
	// Batch is how many datagrams one recvmmsg call takes at most (32).
	Batch int
	// BufferBytes sizes the socket's send and receive buffers (4 MiB).
	BufferBytes int
	// Clock drives learning timestamps; nil means the system clock.
	Clock Clock
	// Log receives socket errors; nil discards them.
	Log *slog.Logger
}
