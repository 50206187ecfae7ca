package uplink

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/switchyard/switchyard/port"
)

// Values from <linux/if_packet.h> and <linux/socket.h>, spelled out so the
// parsers below build and fuzz on every platform.
const (
	solPacket         = 263
	packetAuxdata     = 8
	tpStatusVLANValid = 0x10
	tpStatusTPIDValid = 0x40
	auxdataLen        = 20 // struct tpacket_auxdata
	tpid8021Q         = 0x8100
	tpid8021AD        = 0x88a8
)

// ptrSize is the size of C's size_t, the type of cmsghdr's length field.
const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// cmsgHdrLen is sizeof(struct cmsghdr): a size_t and two ints.
const cmsgHdrLen = ptrSize + 8

func cmsgAlign(n int) int { return (n + ptrSize - 1) &^ (ptrSize - 1) }

// aux is what a PACKET_AUXDATA control message says about a frame's tag.
type aux struct {
	tagged bool   // the kernel stripped a tag into the metadata
	tci    uint16 // the stripped tag's control information
	tpid   uint16 // the stripped tag's protocol ID (0: not reported)
}

// parseAux finds the PACKET_AUXDATA message in a recvmsg control buffer.
// A frame without one reads as untagged; a malformed buffer is an error.
func parseAux(b []byte) (aux, error) {
	for len(b) >= cmsgHdrLen {
		var l int
		if ptrSize == 8 {
			v := binary.NativeEndian.Uint64(b)
			if v > uint64(len(b)) {
				return aux{}, fmt.Errorf("control message length %d exceeds %d bytes", v, len(b))
			}
			l = int(v)
		} else {
			l = int(binary.NativeEndian.Uint32(b))
		}
		if l < cmsgHdrLen || l > len(b) {
			return aux{}, fmt.Errorf("control message length %d out of range [%d, %d]", l, cmsgHdrLen, len(b))
		}
		level := int32(binary.NativeEndian.Uint32(b[ptrSize:]))
		typ := int32(binary.NativeEndian.Uint32(b[ptrSize+4:]))
		if data := b[cmsgAlign(cmsgHdrLen):max(l, cmsgAlign(cmsgHdrLen))]; level == solPacket && typ == packetAuxdata {
			if len(data) < auxdataLen {
				return aux{}, fmt.Errorf("auxdata of %d bytes, want %d", len(data), auxdataLen)
			}
			status := binary.NativeEndian.Uint32(data)
			a := aux{tagged: status&tpStatusVLANValid != 0}
			if a.tagged {
				a.tci = binary.NativeEndian.Uint16(data[16:])
				if status&tpStatusTPIDValid != 0 {
					a.tpid = binary.NativeEndian.Uint16(data[18:])
				}
			}
			return a, nil
		}
		next := cmsgAlign(l)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return aux{}, nil
}

// frameVLAN decides which VLAN a received frame d belongs to. insert says
// the kernel stripped the tag and it must be put back (with tci) so the
// switch's trunk port sees it. ok is false for frames that belong to no
// 802.1Q VLAN (802.1ad service tags): they are dropped.
func frameVLAN(a aux, d []byte) (vid, tci uint16, insert, ok bool) {
	if len(d) < port.EthHdrLen {
		return 0, 0, false, false
	}
	if a.tagged {
		if a.tpid != 0 && a.tpid != tpid8021Q {
			return 0, 0, false, false
		}
		if vid = a.tci & 0x0fff; vid == 0 || vid == 0x0fff {
			// Priority-tagged: the untagged domain (802.1Q); 4095 is
			// reserved and never valid.
			return 0, 0, false, vid == 0
		}
		return vid, a.tci, true, true
	}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case tpid8021Q:
		if len(d) < port.EthHdrLen+port.VLANTagLen {
			return 0, 0, false, false
		}
		vid = binary.BigEndian.Uint16(d[14:16]) & 0x0fff
		return vid, 0, false, vid != 0x0fff
	case tpid8021AD:
		return 0, 0, false, false
	}
	return 0, 0, false, true
}

// insertTag puts an 802.1Q tag with tci after f's MAC addresses, using
// the frame's headroom.
func insertTag(f *port.Frame, tci uint16) {
	f.Off -= port.VLANTagLen
	f.Len += port.VLANTagLen
	b := f.Buf()[f.Off:]
	copy(b[:12], b[port.VLANTagLen:port.VLANTagLen+12])
	binary.BigEndian.PutUint16(b[12:], tpid8021Q)
	binary.BigEndian.PutUint16(b[14:], tci)
	f.VNet.ShiftL2(port.VLANTagLen)
}

// ParseParent splits Docker's parent spelling IFACE[.VLAN] ("eth1.10" is
// VLAN 10 on eth1). A suffix after the last dot that is not a number is
// part of the interface name.
func ParseParent(s string) (iface string, vlan uint16, err error) {
	iface = s
	if i := strings.LastIndexByte(s, '.'); i > 0 && i < len(s)-1 && isDigits(s[i+1:]) {
		v, err := strconv.ParseUint(s[i+1:], 10, 16)
		if err != nil || v < 1 || v > MaxVLAN {
			return "", 0, fmt.Errorf("parent %q: VLAN %q out of range 1-%d", s, s[i+1:], MaxVLAN)
		}
		iface, vlan = s[:i], uint16(v)
	}
	if err := checkIfname(iface); err != nil {
		return "", 0, fmt.Errorf("parent %q: %w", s, err)
	}
	return iface, vlan, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkIfname applies the kernel's rule for interface names
// (dev_valid_name): 1–15 bytes, not "." or "..", no '/', ':' or space.
func checkIfname(s string) error {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return fmt.Errorf("interface name %q: want 1-15 bytes, not \".\" or \"..\"", s)
	}
	if strings.ContainsAny(s, "/: \t\n\r\v\f") {
		return fmt.Errorf("interface name %q contains '/', ':' or white space", s)
	}
	return nil
}
