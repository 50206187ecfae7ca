package gateway

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// link is the gateway's network card: a switch port on one side (the
// switch calls WriteFrames and ReadFrames directly) and a gVisor link
// endpoint on the other (the stack calls WritePackets and is handed
// received packets through its dispatcher). Nothing sits in between.
type link struct {
	name string
	mac  tcpip.LinkAddress
	mtu  atomic.Uint32

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher

	// out carries frames the stack sent towards the switch. WritePackets
	// never blocks: when the switch does not keep up, frames are dropped
	// and counted.
	out    chan *port.Frame
	closed chan struct{}
	once   sync.Once

	// intercept sees every frame from the switch first (DHCP, ICMP echo to
	// outside addresses); it returns true when it consumed the frame.
	intercept func(frame []byte) bool

	stats linkStats
}

// linkStats are the gateway port's own counters.
type linkStats struct {
	toStack, fromStack, txQueueDrops, badChecksum, malformed atomic.Uint64
}

var (
	_ stack.LinkEndpoint = (*link)(nil)
	_ stack.GSOEndpoint  = (*link)(nil)
)

// outQueueLen bounds the frames the stack may have waiting for the switch.
const outQueueLen = 1024

// gsoMaxSize is the largest TCP segment gVisor may hand over: an IP packet
// must stay below 64 KiB.
const gsoMaxSize = 65535 - header.IPv4MaximumHeaderSize - header.TCPHeaderMaximumSize

func newLink(name string, mac tcpip.LinkAddress, mtu uint32) *link {
	l := &link{name: name, mac: mac, out: make(chan *port.Frame, outQueueLen), closed: make(chan struct{})}
	l.mtu.Store(mtu)
	return l
}

// --- stack.NetworkLinkEndpoint ---

// MTU is the largest IP packet the stack may send without GSO.
func (l *link) MTU() uint32                      { return l.mtu.Load() }
func (l *link) SetMTU(mtu uint32)                { l.mtu.Store(mtu) }
func (l *link) MaxHeaderLength() uint16          { return header.EthernetMinimumSize }
func (l *link) LinkAddress() tcpip.LinkAddress   { return l.mac }
func (l *link) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities: Ethernet needs ARP; checksums of received frames are
// verified by the link itself (see WriteFrames), so the stack skips them.
func (l *link) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired | stack.CapabilityRXChecksumOffload
}

func (l *link) Attach(d stack.NetworkDispatcher) {
	l.mu.Lock()
	l.dispatcher = d
	l.mu.Unlock()
}

func (l *link) IsAttached() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.dispatcher != nil
}

func (l *link) Wait()                                   {}
func (l *link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

func (l *link) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

func (l *link) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// SetOnCloseAction is part of stack.NetworkLinkEndpoint; see Close.
func (l *link) SetOnCloseAction(func()) {}

// --- stack.GSOEndpoint: gVisor TCP then sends up to 64 KiB segments with
// only the pseudo-header summed, which the switch passes to TAPs as
// super-frames (or segments for ports without offloads). ---

func (l *link) GSOMaxSize() uint32               { return gsoMaxSize }
func (l *link) SupportedGSO() stack.SupportedGSO { return stack.HostGSOSupported }

// WritePackets queues the stack's packets as frames for the switch. It
// runs under the stack's endpoint locks and must never block.
func (l *link) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	for _, pkt := range pkts.AsSlice() {
		f := port.Get(pkt.Size())
		off := 0
		buf := f.Space()
		for _, s := range pkt.AsSlices() {
			off += copy(buf[off:], s)
		}
		f.Len = off
		f.VNet = vnetHeader(pkt)
		select {
		case l.out <- f:
			n++
			l.stats.fromStack.Add(1)
		case <-l.closed:
			port.Put(f)
			return n, &tcpip.ErrClosedForSend{}
		default:
			port.Put(f)
			l.stats.txQueueDrops.Add(1)
			n++ // dropped, like a full NIC queue: TCP retransmits
		}
	}
	return n, nil
}

// vnetHeader describes a packet's offloads the way a TAP would.
func vnetHeader(pkt *stack.PacketBuffer) offload.Hdr {
	g := pkt.GSOOptions
	var h offload.Hdr
	if g.NeedsCsum {
		h.Flags = offload.FlagNeedsCsum
		h.CsumStart = header.EthernetMinimumSize + g.L3HdrLen
		h.CsumOffset = g.CsumOffset
	}
	if g.Type != stack.GSONone && pkt.Data().Size() > int(g.MSS) {
		switch g.Type {
		case stack.GSOTCPv4:
			h.GSOType = offload.GSOTCPv4
		case stack.GSOTCPv6:
			h.GSOType = offload.GSOTCPv6
		}
		h.GSOSize = g.MSS
		h.HdrLen = uint16(pkt.HeaderSize())
	}
	return h
}

// deliver hands one frame from the switch to the stack.
func (l *link) deliver(f *port.Frame) {
	l.mu.RLock()
	d := l.dispatcher
	l.mu.RUnlock()
	if d == nil {
		return
	}
	data := f.Data()
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(data)})
	defer pkt.DecRef()
	if !l.ParseHeader(pkt) {
		l.stats.malformed.Add(1)
		return
	}
	eth := header.Ethernet(data)
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == l.mac:
		pkt.PktType = tcpip.PacketHost
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	l.stats.toStack.Add(1)
	d.DeliverNetworkPacket(eth.Type(), pkt)
}

// Close stops the link: readers get port.ErrClosed, the stack's writes
// fail. The stack calls it when its NIC is removed; the switch calls it
// (through switchPort) when the port is removed. The link never goes away
// by itself, so the stack's on-close action (which removes the NIC, and
// would call Close again) is not needed and never run.
func (l *link) Close() {
	l.once.Do(func() { close(l.closed) })
}
