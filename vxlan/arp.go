package vxlan

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/switchyard/switchyard/port"
)

// ARP frame layout (Ethernet, IPv4 over Ethernet).
const (
	etherTypeARP = 0x0806
	arpLen       = ethHdrLen + 28
	arpRequest   = 1
	arpReply     = 2
)

// SetNeighbors sets the IPv4 → MAC table of endpoints behind other VTEPs
// (from the cluster store). ARP requests for these addresses are answered
// by the tunnel itself, as the Linux vxlan device does with `proxy`, and
// never flooded to the other hosts.
func (t *Tunnel) SetNeighbors(neigh map[netip.Addr]net.HardwareAddr) error {
	m := make(map[uint32]uint64, len(neigh))
	for a, mac := range neigh {
		v, ok := ip4(a)
		if !ok || len(mac) != 6 {
			return fmt.Errorf("vxlan: bad neighbour %s → %s", a, mac)
		}
		m[v] = macKey(mac)
	}
	t.neigh.Store(&m)
	return nil
}

// answerARP answers an ARP request for a known remote address with a
// reply from the tunnel's side, and reports whether it did (the request
// then goes nowhere else).
func (t *Tunnel) answerARP(d []byte) bool {
	if len(d) < arpLen || binary.BigEndian.Uint16(d[12:]) != etherTypeARP ||
		binary.BigEndian.Uint64(d[14:22]) != 0x0001_0800_0604_0000|arpRequest {
		return false
	}
	tpa := binary.BigEndian.Uint32(d[38:42])
	if tpa == binary.BigEndian.Uint32(d[28:32]) {
		return false // gratuitous: an announcement for everyone
	}
	mac, ok := (*t.neigh.Load())[tpa]
	if !ok {
		return false
	}
	f := port.Get(arpLen)
	r := f.Space()[:arpLen]
	copy(r[0:6], d[22:28]) // to the requester
	putMAC(r[6:12], mac)
	binary.BigEndian.PutUint16(r[12:], etherTypeARP)
	binary.BigEndian.PutUint64(r[14:22], 0x0001_0800_0604_0000|arpReply)
	putMAC(r[22:28], mac)
	binary.BigEndian.PutUint32(r[28:32], tpa)
	copy(r[32:42], d[22:32]) // the requester's MAC and address
	f.Len = arpLen
	select {
	case t.in <- f:
		t.st.arpAnswered.Add(1)
		t.s.kick() // a reader waiting in the socket takes the answer
	default:
		port.Put(f)
		t.st.rxDrops.Add(1)
	}
	return true
}

// putMAC writes a packed MAC address.
func putMAC(b []byte, k uint64) {
	_ = b[5]
	for i := 5; i >= 0; i-- {
		b[i] = byte(k)
		k >>= 8
	}
}
