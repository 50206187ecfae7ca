// Package offload handles the virtio-net header that Linux TAP devices
// opened with IFF_VNET_HDR put in front of every frame, and the work a
// switch must do for an egress port that cannot take offloaded frames:
// splitting TCP super-frames (TSO) into MTU-sized segments and completing
// partial checksums.
package offload

import (
	"encoding/binary"
	"errors"
)

// HdrLen is the size of the legacy virtio-net header (struct virtio_net_hdr).
const HdrLen = 10

// Flags of the virtio-net header.
const (
	// FlagNeedsCsum says the L4 checksum is partial: the sum of the
	// pseudo-header is stored at CsumStart+CsumOffset, the rest must be
	// added from CsumStart to the end of the frame.
	FlagNeedsCsum = 1
	// FlagDataValid says the checksum was already verified.
	FlagDataValid = 2
)

// GSO types of the virtio-net header.
const (
	GSONone  = 0
	GSOTCPv4 = 1
	GSOUDP   = 3
	GSOTCPv6 = 4
	GSOECN   = 0x80
)

// Hdr is a decoded virtio-net header. The zero value describes a plain
// frame with a complete checksum.
type Hdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// ErrShortHdr is returned when fewer than HdrLen bytes are given.
var ErrShortHdr = errors.New("offload: virtio-net header shorter than 10 bytes")

// Decode reads a header from b. The TAP device uses the host's byte order
// for the legacy header; on every architecture Go supports for this
// project that is little-endian, matching virtio 1.0.
func (h *Hdr) Decode(b []byte) error {
	if len(b) < HdrLen {
		return ErrShortHdr
	}
	h.Flags = b[0]
	h.GSOType = b[1]
	h.HdrLen = binary.LittleEndian.Uint16(b[2:])
	h.GSOSize = binary.LittleEndian.Uint16(b[4:])
	h.CsumStart = binary.LittleEndian.Uint16(b[6:])
	h.CsumOffset = binary.LittleEndian.Uint16(b[8:])
	return nil
}

// Encode writes h into the first HdrLen bytes of b.
func (h *Hdr) Encode(b []byte) {
	_ = b[HdrLen-1]
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
}

// IsGSO reports whether the frame is a super-frame that must be segmented
// before it goes to a port without offloads.
func (h *Hdr) IsGSO() bool { return h.GSOType&^GSOECN != GSONone }

// NeedsWork reports whether the frame must be segmented or have its
// checksum completed before a port without offloads can send it.
func (h *Hdr) NeedsWork() bool { return h.IsGSO() || h.Flags&FlagNeedsCsum != 0 }

// ShiftL2 adjusts the header after the Ethernet header grew by delta bytes
// (a VLAN tag inserted: +4; removed: -4).
func (h *Hdr) ShiftL2(delta int) {
	if h.Flags&FlagNeedsCsum != 0 {
		h.CsumStart = uint16(int(h.CsumStart) + delta)
	}
	if h.HdrLen != 0 {
		h.HdrLen = uint16(int(h.HdrLen) + delta)
	}
}
