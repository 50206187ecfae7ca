package vswitch

import (
	"encoding/binary"
	"fmt"

	"github.com/switchyard/switchyard/port"
)

// PortConfig sets a port's 802.1Q role, its port security and its
// learning limit.
//
// An access port (Trunk false) carries untagged frames of one VLAN: VLAN 0
// is the switch's untagged domain, 1–4094 a numbered VLAN; tagged frames
// arriving on it are dropped. A trunk port carries tagged frames of the
// Allowed VLANs (all when empty); untagged frames on it belong to Native and
// frames of Native leave it untagged.
type PortConfig struct {
	// Name is the port's display name in listings; empty means the port's
	// own Info().Name.
	Name    string
	VLAN    uint16
	Trunk   bool
	Allowed []uint16
	Native  uint16
	// Security, when set, gives the port its own addresses (see
	// PortSecurity); nil leaves it an open port, as on a plain bridge.
	Security *PortSecurity
	// MaxMACs caps how many MAC addresses the switch learns behind the
	// port (0: only the table's own cap); further ones are flooded to,
	// not learned, and counted.
	MaxMACs int
}

const tpid8021Q = 0x8100

func (pc *PortConfig) validate() error {
	if pc.VLAN > 4094 || pc.Native > 4094 {
		return fmt.Errorf("vlan %d/%d: valid VLAN IDs are 1-4094 (0: untagged)", pc.VLAN, pc.Native)
	}
	if pc.MaxMACs < 0 {
		return fmt.Errorf("max MACs %d is negative", pc.MaxMACs)
	}
	for _, v := range pc.Allowed {
		if v == 0 || v > 4094 {
			return fmt.Errorf("trunk vlan %d: valid VLAN IDs are 1-4094", v)
		}
	}
	return nil
}

// vlanSet is a bitmap of VLAN IDs.
type vlanSet [64]uint64

func (v *vlanSet) add(id uint16)      { v[id>>6] |= 1 << (id & 63) }
func (v *vlanSet) has(id uint16) bool { return v[id>>6]&(1<<(id&63)) != 0 }

func newVLANSet(pc PortConfig) vlanSet {
	var v vlanSet
	switch {
	case !pc.Trunk:
		v.add(pc.VLAN)
	case len(pc.Allowed) == 0:
		for id := uint16(1); id <= 4094; id++ {
			v.add(id)
		}
		v.add(pc.Native)
	default:
		for _, id := range pc.Allowed {
			v.add(id)
		}
		v.add(pc.Native)
	}
	return v
}

// classify sets f.VLAN from the port's role, stripping an 802.1Q tag into
// the metadata. It returns false when the frame is not admitted.
func (ps *portState) classify(f *port.Frame) bool {
	d := f.Data()
	untagged := ps.cfg.VLAN
	if ps.cfg.Trunk {
		untagged = ps.cfg.Native
	}
	if binary.BigEndian.Uint16(d[12:14]) != tpid8021Q {
		f.VLAN = untagged
		return true
	}
	if len(d) < port.EthHdrLen+port.VLANTagLen {
		return false
	}
	vid := binary.BigEndian.Uint16(d[14:16]) & 0x0fff
	switch {
	case vid == 0:
		// Priority-tagged: belongs to the port's untagged VLAN (802.1Q).
		vid = untagged
	case !ps.cfg.Trunk || vid == 4095 || !ps.vlans.has(vid):
		return false
	}
	// Move both MAC addresses over the tag.
	copy(d[port.VLANTagLen:port.VLANTagLen+12], d[:12])
	f.Off += port.VLANTagLen
	f.Len -= port.VLANTagLen
	f.VNet.ShiftL2(-port.VLANTagLen)
	f.VLAN = vid
	return true
}

// admits reports whether a frame of VLAN vid may leave through this port.
func (ps *portState) admits(vid uint16) bool { return ps.vlans.has(vid) }

// tag inserts an 802.1Q tag on a trunk for frames outside the native VLAN.
func (ps *portState) tag(f *port.Frame) {
	if !ps.cfg.Trunk || f.VLAN == ps.cfg.Native {
		return
	}
	f.Off -= port.VLANTagLen
	f.Len += port.VLANTagLen
	b := f.Buf()[f.Off:]
	copy(b[:12], b[port.VLANTagLen:port.VLANTagLen+12])
	binary.BigEndian.PutUint16(b[12:], tpid8021Q)
	binary.BigEndian.PutUint16(b[14:], f.VLAN)
	f.VNet.ShiftL2(port.VLANTagLen)
}
