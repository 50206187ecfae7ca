// Package uplink connects a switch to a host network interface, as
// Docker's macvlan driver connects containers to a NIC: a Parent is one
// AF_PACKET socket bound to the interface (promiscuous, with the virtio-net
// header so TSO super-frames leave without per-MTU copies and checksums
// stay partial), and each Link on it is a port.Port carrying one VLAN of
// the wire — VLAN 0 for untagged frames, 1–4094 for 802.1Q-tagged ones.
//
// The Parent's reader receives in recvmmsg batches, drops the host's own
// outgoing frames (PACKET_IGNORE_OUTGOING and the packet type), frames for
// the interface's own MAC and frames of VLANs without a Link (counted),
// and queues the rest on their Link. The kernel strips 802.1Q tags on
// receive into the packet's metadata; a VLAN Link puts the tag back into
// the frame, so the switch sees what was on the wire and its trunk port
// does the tagging and untagging (no 8021q module or kernel VLAN
// sub-interface is involved).
//
// One socket per parent (rather than one per VLAN with a BPF filter) means
// each frame is received and classified once, and a frame of an unknown
// VLAN is seen by someone who counts it.
package uplink

import (
	"errors"
	"fmt"
	"log/slog"
)

// Config describes a Parent. Zero fields take defaults.
type Config struct {
	// Interface is the host interface to attach to (required).
	Interface string
	// Netns is the namespace the interface lives in (an nsutil spec);
	// empty means the caller's.
	Netns string
	// Batch is how many frames one recvmmsg call takes at most (32).
	Batch int
	// QueueLen bounds each Link's received frames not yet read by its
	// switch (512); beyond it frames are dropped and counted.
	QueueLen int
	// BufferBytes sizes the socket's receive and send buffers (4 MiB).
	BufferBytes int
	// Log receives the reader's errors; nil discards them.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 512
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = 4 << 20
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// LinkConfig describes one Link of a Parent.
type LinkConfig struct {
	// VLAN is the 802.1Q VLAN the link carries: 0 for untagged frames,
	// 1–4094 for frames with that tag.
	VLAN uint16
	// Name is the port's name; empty means the interface name, with
	// ".VLAN" for a tagged link (Docker's parent spelling).
	Name string
}

// MaxVLAN is the highest usable 802.1Q VLAN ID.
const MaxVLAN = 4094

// ErrVLANInUse is returned (wrapped) by Parent.Link for a VLAN that
// already has a link on the parent.
var ErrVLANInUse = errors.New("uplink: VLAN already has a link on this parent")

// ErrClosedParent is returned by Parent.Link after Close.
var ErrClosedParent = errors.New("uplink: parent closed")

// Stats are a Parent's own counters.
type Stats struct {
	// RxFrames counts frames received from the interface.
	RxFrames uint64 `json:"rx_frames"`
	// RxOtherVLAN counts frames of a VLAN (or untagged frames) without a
	// link on this parent: dropped.
	RxOtherVLAN uint64 `json:"rx_other_vlan"`
	// RxHost counts unicast frames for the interface's own MAC, which
	// belong to the host, not the switch: dropped.
	RxHost uint64 `json:"rx_host"`
	// RxBad counts truncated or malformed frames: dropped.
	RxBad uint64 `json:"rx_bad"`
	// RxErrors counts failed receive calls.
	RxErrors uint64 `json:"rx_errors"`
	// Links is how many links use the parent.
	Links int `json:"links"`
}

// LinkStats are one Link's counters.
type LinkStats struct {
	RxFrames uint64 `json:"rx_frames"`
	// RxDrops counts frames dropped because the link's queue was full.
	RxDrops  uint64 `json:"rx_drops"`
	TxFrames uint64 `json:"tx_frames"`
	// TxErrors counts frames the kernel refused.
	TxErrors uint64 `json:"tx_errors"`
	// TxDrops counts frames dropped on a full socket send buffer.
	TxDrops uint64 `json:"tx_drops"`
}

// linkName is a link's default port name.
func linkName(iface string, vlan uint16) string {
	if vlan == 0 {
		return iface
	}
	return fmt.Sprintf("%s.%d", iface, vlan)
}
