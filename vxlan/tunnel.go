package vxlan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/port"
)

// TunnelConfig describes one VNI on a Socket. Zero fields take defaults.
type TunnelConfig struct {
	// VNI is the 24-bit VXLAN network identifier (required, 1-MaxVNI).
	VNI uint32
	// Name is the port's name on the switch ("vxlan" plus the VNI).
	Name string
	// MTU is the inner MTU of the overlay (1450: 1500 minus Overhead).
	MTU int
	// LocalMACs never cross the tunnel in either direction: the anycast
	// gateway's MAC, which every host serves itself.
	LocalMACs []net.HardwareAddr
	// AgeingTime is how long a learned MAC stays without traffic (300 s).
	AgeingTime time.Duration
	// MaxEntries caps the MAC → VTEP table (8192); learning beyond it is
	// refused and counted.
	MaxEntries int
	// QueueLen bounds the frames received for this VNI and not yet read by
	// the switch (512); beyond it frames are dropped and counted.
	QueueLen int
	// Clock drives ageing; nil means the system clock.
	Clock Clock
}

func (c *TunnelConfig) setDefaults() {
	if c.Name == "" {
		c.Name = fmt.Sprintf("vxlan%d", c.VNI)
	}
	if c.MTU == 0 {
		c.MTU = 1500 - Overhead
	}
	if c.AgeingTime <= 0 {
		c.AgeingTime = 300 * time.Second
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 8192
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 512
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
}

// Tunnel is one VNI's port: it implements port.Port.
type Tunnel struct {
	s      *Socket
	cfg    TunnelConfig
	info   port.Info
	fdb    *table
	peers  atomic.Pointer[[]uint32]
	neigh  atomic.Pointer[map[uint32]uint64] // remote IPv4 → MAC, answered locally
	local  []uint64
	in     chan *port.Frame
	wake   chan struct{} // the socket has no reader: take over
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	wr     writer
	st     tunnelCounters
}

var _ port.Port = (*Tunnel)(nil)

// tunnelCounters are written by the socket's reader (rx*) and the
// tunnel's writer (tx*).
type tunnelCounters struct {
	rxFrames, rxDrops, rxFiltered atomic.Uint64
	_                             [40]byte
	txFrames, txDatagrams         atomic.Uint64
	txNoPeer, txErrors            atomic.Uint64
	arpAnswered                   atomic.Uint64
}

// Stats are a tunnel's counters.
type Stats struct {
	RxFrames    uint64 `json:"rx_frames"`
	RxDrops     uint64 `json:"rx_drops"`
	RxFiltered  uint64 `json:"rx_filtered"`
	TxFrames    uint64 `json:"tx_frames"`
	TxDatagrams uint64 `json:"tx_datagrams"`
	TxNoPeer    uint64 `json:"tx_no_peer"`
	TxErrors    uint64 `json:"tx_errors"`
	FDBEntries  int    `json:"fdb_entries"`
	FDBFull     uint64 `json:"fdb_full"`
	// ARPAnswered counts ARP requests for remote endpoints the tunnel
	// answered itself instead of flooding them to the other hosts.
	ARPAnswered uint64 `json:"arp_answered"`
}

// SocketStats are a socket's own counters.
type SocketStats struct {
	// RxBad counts datagrams that are not VXLAN (short, no I flag,
	// truncated).
	RxBad uint64 `json:"rx_bad"`
	// RxUnknownVNI counts datagrams for a VNI without a tunnel.
	RxUnknownVNI uint64 `json:"rx_unknown_vni"`
}

// ErrVNIInUse is returned (wrapped) by Socket.Tunnel for a VNI that
// already has a tunnel on the socket.
var ErrVNIInUse = errors.New("vxlan: VNI already has a tunnel on this socket")

func newTunnel(s *Socket, cfg TunnelConfig) (*Tunnel, error) {
	if cfg.VNI == 0 || cfg.VNI > MaxVNI {
		return nil, fmt.Errorf("vxlan: VNI %d out of range [1, %d]", cfg.VNI, MaxVNI)
	}
	cfg.setDefaults()
	if cfg.MTU < 68 || cfg.MTU+ethHdrLen+HeaderLen > port.SmallBuf*8 {
		return nil, fmt.Errorf("vxlan: inner MTU %d out of range", cfg.MTU)
	}
	t := &Tunnel{s: s, cfg: cfg, fdb: newTable(cfg.MaxEntries, cfg.AgeingTime, cfg.Clock),
		in: make(chan *port.Frame, cfg.QueueLen), wake: make(chan struct{}, 1), closed: make(chan struct{})}
	t.info = port.Info{Name: cfg.Name, MTU: cfg.MTU, Offload: true, MaxFrame: port.MaxSuperFrame, NonBlocking: true}
	for _, m := range cfg.LocalMACs {
		if len(m) == 6 {
			t.local = append(t.local, macKey(m))
		}
	}
	t.peers.Store(&[]uint32{})
	t.neigh.Store(&map[uint32]uint64{})
	t.wr = newWriter(s)
	t.wg.Add(1)
	go t.ageLoop()
	return t, nil
}

// ageLoop frees aged-out learned entries (lookups ignore them already).
func (t *Tunnel) ageLoop() {
	defer t.wg.Done()
	tk := time.NewTicker(min(max(t.cfg.AgeingTime/4, 100*time.Millisecond), 30*time.Second))
	defer tk.Stop()
	for {
		select {
		case <-t.closed:
			return
		case <-tk.C:
			t.fdb.expire()
		}
	}
}

// VNI returns the tunnel's VXLAN network identifier.
func (t *Tunnel) VNI() uint32 { return t.cfg.VNI }

// Info returns the port's description: offloads (the tunnel segments TCP
// super-frames itself into UDP GSO sends, and hands the switch coalesced
// super-frames of received segments), and writes never block (a full send
// buffer drops and counts), so the switch may write the tunnel from the
// ingress port's goroutine.
func (t *Tunnel) Info() port.Info { return t.info }

// SetPeers sets the VTEPs that broadcast, multicast and unknown unicast
// frames are replicated to (head-end replication). Only IPv4 addresses
// are accepted.
func (t *Tunnel) SetPeers(peers []netip.Addr) error {
	ps := make([]uint32, 0, len(peers))
	seen := map[uint32]bool{}
	for _, p := range peers {
		v, ok := ip4(p)
		if !ok || v == 0 {
			return fmt.Errorf("vxlan: peer %s is not an IPv4 address", p)
		}
		if !seen[v] {
			seen[v] = true
			ps = append(ps, v)
		}
	}
	t.peers.Store(&ps)
	return nil
}

// Peers returns the current flood list.
func (t *Tunnel) Peers() []netip.Addr {
	var out []netip.Addr
	for _, v := range *t.peers.Load() {
		out = append(out, addrOf(v))
	}
	return out
}

// SetRemote programs a static entry: frames to mac go to vtep.
func (t *Tunnel) SetRemote(mac net.HardwareAddr, vtep netip.Addr) error {
	v, ok := ip4(vtep)
	if len(mac) != 6 || !ok {
		return fmt.Errorf("vxlan: bad remote entry %s → %s", mac, vtep)
	}
	t.fdb.setStatic(macKey(mac), v)
	return nil
}

// RemoveRemote deletes mac's entry, static or learned.
func (t *Tunnel) RemoveRemote(mac net.HardwareAddr) {
	if len(mac) == 6 {
		t.fdb.remove(macKey(mac))
	}
}

// Entries lists the tunnel's MAC → VTEP table.
func (t *Tunnel) Entries() []Entry { return t.fdb.entries() }

// Stats returns the tunnel's counters.
func (t *Tunnel) Stats() Stats {
	return Stats{RxFrames: t.st.rxFrames.Load(), RxDrops: t.st.rxDrops.Load(), RxFiltered: t.st.rxFiltered.Load(),
		TxFrames: t.st.txFrames.Load(), TxDatagrams: t.st.txDatagrams.Load(), TxNoPeer: t.st.txNoPeer.Load(),
		TxErrors: t.st.txErrors.Load(), FDBEntries: len(*t.fdb.m.Load()), FDBFull: t.fdb.full.Load(),
		ARPAnswered: t.st.arpAnswered.Load()}
}

// isLocal reports whether the MAC at b never crosses the tunnel.
func (t *Tunnel) isLocal(b []byte) bool {
	if len(t.local) == 0 {
		return false
	}
	k := macKey(b)
	for _, l := range t.local {
		if l == k {
			return true
		}
	}
	return false
}
