package nat

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/switchyard/switchyard/flow"
)

// Config configures the NAT of one gateway. Zero fields take defaults.
type Config struct {
	// Gateway is the gateway's own address: connections to it on ports
	// without a gateway service are host-loopback connections.
	Gateway netip.Addr
	// AllowHostLoopback lets those reach the host's 127.0.0.1; by default
	// they are refused (RST for TCP, ICMP port unreachable for UDP).
	AllowHostLoopback bool
	// Subnet is the gateway's network: destinations inside it (other than
	// Gateway) are never dialed from the host.
	Subnet netip.Prefix
	// Gateway6 and Subnet6 are the same for IPv6 (zero when IPv6 is off):
	// Gateway6 is the alias of the host's [::1].
	Gateway6 netip.Addr
	Subnet6  netip.Prefix
	// Deny refuses destinations by policy, e.g. other networks' subnets
	// (networks are isolated). Nil denies nothing.
	Deny func(netip.Addr) bool
	// Dial opens host-side connections; nil uses a net.Dialer with TCP
	// keepalive.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds a TCP dial (10 s).
	DialTimeout time.Duration
	// UDPIdle closes a UDP flow after this long without a datagram (90 s).
	UDPIdle time.Duration
	// MaxTCP and MaxUDP bound the connection-tracking table (4096 each).
	MaxTCP, MaxUDP int
	// MaxTCPPending bounds TCP handshakes in progress (1024).
	MaxTCPPending int
	// Now tells the time (ages in listings); nil means time.Now.
	Now func() time.Time
	// Clock times UDP idle expiry; nil is the system clock.
	Clock flow.Clock
	// Log receives flow errors; nil discards them.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		c.Dial = d.DialContext
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.UDPIdle <= 0 {
		c.UDPIdle = 90 * time.Second
	}
	if c.MaxTCP <= 0 {
		c.MaxTCP = 4096
	}
	if c.MaxUDP <= 0 {
		c.MaxUDP = 4096
	}
	if c.MaxTCPPending <= 0 {
		c.MaxTCPPending = 1024
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Clock == nil {
		c.Clock = flow.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// NAT forwards a stack's TCP and UDP flows to host sockets.
type NAT struct {
	cfg    Config
	table  *table
	udp    *flow.Table[*Flow, *udpFlow] // UDP flows and their idle expiry
	ping   *pinger
	ctx    context.Context
	cancel context.CancelFunc
	conns  flow.Tracker // open connections (and their relays: Hold), closed by Close
}

// New installs TCP and UDP forwarders on s (which must be promiscuous and
// allow spoofing on its NIC). Endpoints registered on s (DNS, ...) take
// precedence over the forwarders.
func New(s *stack.Stack, cfg Config) *NAT {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	n := &NAT{cfg: cfg, table: newTable(cfg.MaxTCP, cfg.MaxUDP), ctx: ctx, cancel: cancel, ping: newPinger(cfg.Log),
		udp: flow.NewTable[*Flow, *udpFlow](flow.TableConfig{Max: cfg.MaxUDP, Idle: cfg.UDPIdle, Clock: cfg.Clock})}
	tf := tcp.NewForwarder(s, 0, cfg.MaxTCPPending, n.handleTCP)
	s.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(s, n.handleUDP)
	s.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
	return n
}

// target maps a destination to what the host dials, or refuses it.
func (n *NAT) target(dst netip.AddrPort) (netip.AddrPort, bool) {
	if dst.Addr() == n.cfg.Gateway {
		if !n.cfg.AllowHostLoopback {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), dst.Port()), true
	}
	a := dst.Addr()
	if a.Is6() {
		if n.cfg.Gateway6.IsValid() && a == n.cfg.Gateway6 {
			if !n.cfg.AllowHostLoopback {
				return netip.AddrPort{}, false
			}
			return netip.AddrPortFrom(netip.IPv6Loopback(), dst.Port()), true
		}
		if a.IsLinkLocalUnicast() || (n.cfg.Subnet6.IsValid() && n.cfg.Subnet6.Contains(a)) {
			return netip.AddrPort{}, false
		}
	}
	if a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || (n.cfg.Subnet.IsValid() && n.cfg.Subnet.Contains(a)) ||
		(n.cfg.Deny != nil && n.cfg.Deny(a)) {
		return netip.AddrPort{}, false
	}
	return dst, true
}

// Flows lists the live flows.
func (n *NAT) Flows() []FlowInfo { return n.table.list(n.cfg.Now()) }

// Stats returns the NAT's counters.
func (n *NAT) Stats() Stats {
	st := n.table.stats()
	st.ICMPUnsupported, st.ICMPForwarded, st.ICMPDropped = n.ping.stats()
	st.UDPExpired = n.udp.Stats().Expired
	return st
}

// Close ends every flow and waits for their goroutines.
func (n *NAT) Close() {
	n.cancel()
	n.conns.Close()
	n.udp.Close()
	n.ping.close()
	n.conns.Wait()
}

func addrPort(a tcpip.Address, port uint16) netip.AddrPort {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return netip.AddrPortFrom(ip.Unmap(), port)
}

// DropPing counts an echo request the gateway dropped without trying
// (IPv6 echo to outside addresses: not forwarded).
func (n *NAT) DropPing() { n.ping.dropped.Add(1) }

// HostLoopbackAllowed reports whether connections to the gateway address
// reach the host's loopback.
func (n *NAT) HostLoopbackAllowed() bool { return n.cfg.AllowHostLoopback }
