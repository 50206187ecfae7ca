// Package port defines the batched frame interface every switch port
// implements (TAP devices, the gateway netstack, test fakes) and the pooled
// frame buffers that travel through the switch.
//
// A port knows nothing of the switch: it reads and writes Ethernet frames
// in batches. Each frame carries its virtio-net offload header beside it, so
// super-frames from a TAP opened with IFF_VNET_HDR cross the switch intact.
package port

import (
	"errors"

	"github.com/switchyard/switchyard/offload"
)

// Port is one attachment point of a switch.
//
// ReadFrames blocks until at least one frame is available, fills fs[:n]
// (each Frame comes from the caller, with Headroom free bytes in front of
// Data) and returns n. WriteFrames sends fs in order and returns how many
// were sent; frames are not retained after it returns. One goroutine reads
// and one goroutine writes a port at a time. Close unblocks both.
type Port interface {
	ReadFrames(fs []*Frame) (n int, err error)
	WriteFrames(fs []*Frame) (n int, err error)
	Info() Info
	Close() error
}

// Info describes a port's fixed properties.
type Info struct {
	// Name is the port's display name (interface or endpoint name).
	Name string
	// MTU is the largest L3 packet the port may be sent without offloads.
	MTU int
	// Offload says the port accepts frames with a virtio-net header that
	// asks for segmentation (TSO4/TSO6) or checksum completion. Frames for a
	// port without it are segmented and completed by the switch.
	Offload bool
	// MaxFrame is the largest frame (Ethernet header included) ReadFrames
	// can produce; the switch sizes the buffers it hands to ReadFrames by it.
	MaxFrame int
	// NonBlocking says WriteFrames never waits for the peer (a TAP: the
	// kernel queues or drops). The switch may then write from the ingress
	// port's goroutine when the port is idle, saving a goroutine hand-off.
	NonBlocking bool
}

// ErrClosed is returned by ReadFrames and WriteFrames after Close.
var ErrClosed = errors.New("port: closed")

// Headroom is the number of free bytes in front of every frame's data: room
// for a virtio-net header and one 802.1Q tag.
const Headroom = 32

// Ethernet constants used across the data path.
const (
	EthHdrLen  = 14
	VLANTagLen = 4
	// MaxSuperFrame is the largest frame a TAP with TSO can produce: a 64 KiB
	// IP packet plus Ethernet and VLAN headers.
	MaxSuperFrame = 65535 + EthHdrLen + VLANTagLen
)

// Frame is one Ethernet frame in a pooled buffer.
type Frame struct {
	buf []byte
	// Off is where the Ethernet header starts in the buffer; always at
	// least offload.HdrLen so a header fits in front.
	Off int
	// Len is the frame's length from the Ethernet header on.
	Len int
	// VNet holds the frame's offload metadata (zero for plain frames).
	VNet offload.Hdr
	// VLAN is the frame's VLAN inside the switch (0: untagged domain).
	VLAN uint16
	// Ingress is the switch port index the frame arrived on.
	Ingress int32
	class   int8
}

// Data returns the frame's bytes, Ethernet header first.
func (f *Frame) Data() []byte { return f.buf[f.Off : f.Off+f.Len] }

// Buf returns the whole backing buffer; space from Off on can be filled by
// a reader, which then sets Len.
func (f *Frame) Buf() []byte { return f.buf }

// Space returns the writable area from Off to the end of the buffer.
func (f *Frame) Space() []byte { return f.buf[f.Off:] }

// Cap returns the largest frame the buffer can hold at the default offset.
func (f *Frame) Cap() int { return len(f.buf) - Headroom }

// Reset prepares the frame for reuse: data at Headroom, no metadata.
func (f *Frame) Reset() {
	f.Off = Headroom
	f.Len = 0
	f.VNet = offload.Hdr{}
	f.VLAN = 0
	f.Ingress = -1
}

// SetData copies b into the frame at the default offset.
func (f *Frame) SetData(b []byte) {
	f.Off = Headroom
	f.Len = copy(f.buf[Headroom:], b)
}
