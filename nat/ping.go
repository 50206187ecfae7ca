package nat

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Echo is an ICMP echo request an endpoint sent to an outside address, or
// the answer to one (From and To swapped by the caller).
type Echo struct {
	From, To netip.Addr
	ID, Seq  uint16
	Data     []byte
}

// pinger forwards ICMP echo requests to outside addresses through
// unprivileged ICMP datagram ("ping") sockets, which the kernel allows only
// for groups in net.ipv4.ping_group_range. Where they are not allowed the
// echoes are dropped and the reason is reported in the stats: the gateway
// never answers for an address it did not reach.
type pinger struct {
	log         *slog.Logger
	unsupported string
	forwarded   atomic.Uint64
	dropped     atomic.Uint64
	inflight    chan struct{}
	wg          sync.WaitGroup
	done        chan struct{}
	once        sync.Once
}

// PingFix is the command that lets the NAT's unprivileged ping sockets
// work for every group.
const PingFix = `sysctl -w net.ipv4.ping_group_range="0 2147483647"`

// maxPings bounds echoes in flight; more are dropped.
const maxPings = 64

// pingTimeout is how long an answer is waited for.
const pingTimeout = 5 * time.Second

func newPinger(log *slog.Logger) *pinger {
	p := &pinger{log: log, inflight: make(chan struct{}, maxPings), done: make(chan struct{})}
	c, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		p.unsupported = fmt.Sprintf("unprivileged ping sockets not allowed (net.ipv4.ping_group_range %s): %v; "+
			"allow them with: %s", pingRange(), err, PingFix)
		return p
	}
	c.Close()
	return p
}

func pingRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// Ping forwards an echo request; when the destination answers, reply gets
// the answer. It reports false when the echo was dropped (ping sockets not
// allowed, destination refused by policy, too many in flight).
func (n *NAT) Ping(e Echo, reply func(Echo)) bool {
	p := n.ping
	if p.unsupported != "" {
		p.dropped.Add(1)
		return false
	}
	if _, ok := n.target(netip.AddrPortFrom(e.To, 0)); !ok || e.To == n.cfg.Gateway || e.To == n.cfg.Gateway6 {
		n.table.policy.Add(1)
		return false
	}
	select {
	case p.inflight <- struct{}{}:
	default:
		p.dropped.Add(1)
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.inflight }()
		if ans, err := p.echo(e); err == nil {
			p.forwarded.Add(1)
			reply(ans)
		} else {
			p.log.Debug("nat: ping", "to", e.To, "err", err)
		}
	}()
	return true
}

// echoFamily is what an echo of one address family needs: the ping
// socket's network and address, the ICMP protocol number and the
// request and reply types.
type echoFamily struct {
	network, laddr string
	proto          int
	req, reply     icmp.Type
}

var (
	echo4 = echoFamily{"udp4", "0.0.0.0", 1, ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply}
	echo6 = echoFamily{"udp6", "::", 58, ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply}
)

// echo sends one request on its own ping socket (ICMP or ICMPv6, by the
// destination's family) and waits for the answer.
func (p *pinger) echo(e Echo) (Echo, error) {
	f := echo4
	if e.To.Is6() {
		f = echo6
	}
	c, err := icmp.ListenPacket(f.network, f.laddr)
	if err != nil {
		return Echo{}, err
	}
	defer c.Close()
	stop := closeOnDone(p.done, c)
	defer stop()
	msg := icmp.Message{Type: f.req, Body: &icmp.Echo{ID: int(e.ID), Seq: int(e.Seq), Data: e.Data}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return Echo{}, err
	}
	if _, err := c.WriteTo(b, &net.UDPAddr{IP: e.To.AsSlice()}); err != nil {
		return Echo{}, err
	}
	c.SetReadDeadline(time.Now().Add(pingTimeout))
	buf := make([]byte, 65535)
	for {
		k, _, err := c.ReadFrom(buf)
		if err != nil {
			return Echo{}, err
		}
		m, err := icmp.ParseMessage(f.proto, buf[:k])
		if err != nil || m.Type != f.reply {
			continue
		}
		if body, ok := m.Body.(*icmp.Echo); ok && body.Seq == int(e.Seq) {
			// The kernel rewrote the ID to the socket's; answer with the
			// endpoint's own ID.
			return Echo{From: e.To, To: e.From, ID: e.ID, Seq: e.Seq, Data: body.Data}, nil
		}
	}
}

// closeOnDone closes c when done is closed; the returned func stops that.
func closeOnDone(done <-chan struct{}, c net.PacketConn) func() {
	stop := make(chan struct{})
	go func() {
		select {
		case <-done:
			c.Close()
		case <-stop:
		}
	}()
	return func() { close(stop) }
}

func (p *pinger) stats() (string, uint64, uint64) {
	return p.unsupported, p.forwarded.Load(), p.dropped.Load()
}

func (p *pinger) close() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}
