package offload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Errors returned by Checksum and Segment. They are wrapped with details of
// the offending frame; test for them with errors.Is.
var (
	// ErrMalformed reports a virtio-net header or packet headers that are
	// inconsistent with the frame (out of bounds offsets, bad lengths).
	ErrMalformed = errors.New("offload: malformed frame")
	// ErrUnsupported reports a frame this package cannot process: a GSO
	// type other than TCPv4/TCPv6, or an unexpected protocol.
	ErrUnsupported = errors.New("offload: unsupported frame")
	// ErrShortBuffer reports that the caller's output slices cannot hold
	// the result.
	ErrShortBuffer = errors.New("offload: output buffer too short")
)

// Offset of the checksum field in a UDP header, relative to its start.
const udpCsumOffset = 6

// Checksum completes the partial L4 checksum of frame as described by h
// (FlagNeedsCsum): the pseudo-header sum stored at CsumStart+CsumOffset is
// added to the ones'-complement sum of frame[CsumStart:], and the folded,
// complemented result is written back into that field. On success the
// flag is cleared in h. A frame without FlagNeedsCsum is left unchanged.
//
// The offsets come from the sender and are checked against len(frame); a
// header pointing outside the frame yields an error wrapping ErrMalformed.
// When CsumOffset is that of the UDP checksum field (6) a zero result is
// written as 0xffff, because zero means "no checksum" in UDP.
func Checksum(h *Hdr, frame []byte) error {
	if h.Flags&FlagNeedsCsum == 0 {
		return nil
	}
	start := int(h.CsumStart)
	field := start + int(h.CsumOffset)
	if field+2 > len(frame) {
		return fmt.Errorf("%w: checksum field at %d+%d beyond frame of %d bytes",
			ErrMalformed, h.CsumStart, h.CsumOffset, len(frame))
	}
	c := ^fold(sum(frame[start:], 0))
	if c == 0 && h.CsumOffset == udpCsumOffset {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[field:], c)
	h.Flags &^= FlagNeedsCsum
	return nil
}

// sum adds b, taken as a sequence of big-endian 16-bit words (an odd last
// byte padded with zero), to the ones'-complement accumulator acc. The
// result must be reduced with fold. Sums of consecutive pieces of even
// length may be chained through acc.
func sum(b []byte, acc uint64) uint64 {
	var carry uint64
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), carry)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), carry)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, carry = bits.Add64(acc, uint64(b[0])<<8, carry)
	}
	// End-around carry: 2^64 ≡ 1 in ones'-complement arithmetic.
	acc, carry = bits.Add64(acc, carry, 0)
	return acc + carry
}

// fold reduces a 64-bit ones'-complement accumulator to 16 bits (not
// complemented).
func fold(acc uint64) uint16 {
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	return uint16(acc)
}
