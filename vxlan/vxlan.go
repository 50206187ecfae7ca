// Package vxlan is switchyard's VXLAN data plane (RFC 7348), wire-compatible
// with the Linux kernel's vxlan device.
//
// A Socket owns one UDP port of the underlay (4789 by default) and demuxes
// received datagrams by VNI to Tunnels. A Tunnel is one more port of a
// network's switch (it implements port.Port): frames the switch sends it are
// encapsulated and sent to the VTEP its table knows for the destination MAC,
// or to every peer VTEP (head-end replication) for broadcast, multicast and
// unknown unicast. Frames arriving for its VNI are decapsulated and handed to
// the switch. The switch knows nothing of VXLAN: it learns remote MACs as
// living behind the tunnel port like behind any other port.
//
// The tunnel's table maps remote MACs to VTEPs: static entries come from the
// cluster store (or whoever calls SetStatic), learned ones from the outer
// source address of decapsulated frames and age out. Sending and receiving
// use sendmmsg and recvmmsg in batches, and allocate nothing per frame.
// Only IPv4 underlays are supported.
package vxlan

import (
	"encoding/binary"
	"errors"
)

// Wire constants (RFC 7348; Linux drivers/net/vxlan).
const (
	// HeaderLen is the length of the VXLAN header after the UDP header.
	HeaderLen = 8
	// DefaultPort is the IANA VXLAN port, Docker's overlay port.
	DefaultPort = 4789
	// LinuxPort is the Linux vxlan driver's default port without dstport
	// (flannel keeps it).
	LinuxPort = 8472
	// Overhead is what VXLAN adds on an IPv4 underlay: outer IPv4 20, UDP 8,
	// VXLAN 8 and the inner Ethernet header 14. An overlay endpoint's MTU is
	// the underlay MTU minus Overhead.
	Overhead = 50
	// MaxVNI is the largest 24-bit VXLAN network identifier.
	MaxVNI = 1<<24 - 1
	// flagVNI is the I flag: the VNI field is valid.
	flagVNI = 0x08
	// ethHdrLen is the inner Ethernet header's length.
	ethHdrLen = 14
)

// Errors of ParseHeader.
var (
	// ErrShort is returned for a datagram too short for a VXLAN header and
	// an inner Ethernet header.
	ErrShort = errors.New("vxlan: datagram shorter than VXLAN and Ethernet headers")
	// ErrNoVNI is returned for a header without the I flag.
	ErrNoVNI = errors.New("vxlan: I flag not set (no valid VNI)")
)

// PutHeader writes a VXLAN header for vni into b[:HeaderLen]: flags 0x08,
// reserved fields zero.
func PutHeader(b []byte, vni uint32) {
	_ = b[HeaderLen-1]
	binary.BigEndian.PutUint32(b[0:4], flagVNI<<24)
	binary.BigEndian.PutUint32(b[4:8], (vni&MaxVNI)<<8)
}

// ParseHeader checks a UDP payload and returns its VNI; the inner frame is
// b[HeaderLen:]. Reserved bits are ignored, as RFC 7348 asks of receivers.
func ParseHeader(b []byte) (vni uint32, err error) {
	if len(b) < HeaderLen+ethHdrLen {
		return 0, ErrShort
	}
	if b[0]&flagVNI == 0 {
		return 0, ErrNoVNI
	}
	return binary.BigEndian.Uint32(b[4:8]) >> 8, nil
}

// macKey packs a MAC address into an integer.
func macKey(b []byte) uint64 {
	_ = b[5]
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}
