package rootless

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/switchyard/switchyard/proxy"
	"github.com/switchyard/switchyard/rootless/nsjoin"
)

// targetCheck is how often the target's processes are checked for.
const targetCheck = 500 * time.Millisecond

// Helper is a running rootless helper: the namespace's TAP on a switch
// with the gateway, port forwards, and the API socket.
type Helper struct {
	opts   Options
	log    *slog.Logger
	agent  *nsjoin.Agent
	net    *Network
	fwd    *HostFwdTable
	proxy  *proxy.Proxy
	api    *APIServer
	apiLn  *net.UnixListener
	apiDir *os.File // the API socket's directory (O_PATH), to remove it by name
}

// Start joins the target's namespaces and brings everything up; nothing
// is left behind on error. The caller then signals readiness and Waits.
func Start(ctx context.Context, o Options, log *slog.Logger) (*Helper, error) {
	h, err := Prepare(ctx, o, log)
	if err != nil {
		return nil, err
	}
	if err := h.start(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Prepare does the part of Start that needs the caller's privileges and
// file system: it joins the target's namespaces (the TAP, the agent that
// dials inside them) and creates the API socket. Start calls it; a
// sandboxed helper calls it before it execs into the sandbox, where the
// rest is done (ExecSandbox).
func Prepare(ctx context.Context, o Options, log *slog.Logger) (*Helper, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Helper{opts: o, log: log}
	a := o.Addrs()
	target := nsjoin.Target{PID: o.PID, UsernsPath: o.UsernsPath}
	if o.PID == 0 {
		target.NetnsPath = o.Target
	}
	tc := nsjoin.TapConfig{Name: o.TapName, MTU: o.MTU, Configure: o.Configure, VnetHdr: true}
	if o.Configure {
		tc.MAC, tc.Addr, tc.Gateway = o.MACAddress, netip.PrefixFrom(a.Guest, a.Network.Bits()), a.Gateway
	}
	var err error
	if h.agent, err = nsjoin.Join(ctx, target, tc, log); err != nil {
		return nil, err
	}
	if o.APISocket != "" {
		if err := h.listenAPI(); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// start builds the network on the agent's TAP and serves the API.
func (h *Helper) start() error {
	o, a := h.opts, h.opts.Addrs()
	dev, err := h.agent.Device()
	if err != nil {
		return err
	}
	cfg := NetConfig{Prefix: a.Network, Gateway: a.Gateway, DNS: a.DNS, Guest: a.Guest, DHCPStart: a.DHCPStart, DHCPEnd: a.DHCPEnd,
		MTU: o.MTU, DisableHostLoopback: o.DisableHostLoopback, DisableDNS: o.DisableDNS, ResolvConf: o.ResolvConf,
		Resolvers: o.Resolvers, Pcap: o.Pcap, OutboundAddr: o.OutboundAddr, Log: h.log}
	if o.EnableIPv6 {
		cfg.Prefix6, cfg.Gateway6, cfg.DNS6, cfg.OutboundAddr6 = a.Network6, a.Gateway6, a.DNS6, o.OutboundAddr6
	}
	if o.Configure {
		cfg.GuestMAC = h.agent.TapInfo().MAC
	}
	if h.net, err = StartNetwork(dev, cfg); err != nil {
		dev.Close()
		return err
	}
	d := agentDialer{a: h.agent, gateway: a.Gateway, guest: a.Guest}
	if o.EnableIPv6 {
		d.gateway6, d.prefix6 = a.Gateway6, a.Network6
	}
	h.proxy = proxy.New(proxy.Config{Dialer: d}, h.log)
	h.fwd = NewHostFwdTable(h.openForward)
	if h.apiLn != nil {
		h.api = NewAPIServer(h.apiLn, h.fwd, a.Guest, h.log)
		go h.api.Serve()
	}
	return nil
}

// Options returns the options the helper runs with.
func (h *Helper) Options() Options { return h.opts }

// openForward starts one port forward: a host listener whose connections
// are dialed to the guest from inside the namespace (no TAP, no netstack).
func (h *Helper) openForward(f HostFwd) (io.Closer, error) {
	proto := proxy.TCP
	if f.Proto == "udp" {
		proto = proxy.UDP
	}
	id, err := h.proxy.Add(proxy.Mapping{Proto: proto, Listen: netip.AddrPortFrom(f.HostAddr, uint16(f.HostPort)),
		Backend: netip.AddrPortFrom(f.GuestAddr, uint16(f.GuestPort))})
	if err != nil {
		return nil, err
	}
	return closerFunc(func() error { return h.proxy.Remove(id) }), nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// AddForward adds a port forward as `switchyard run -p` does.
func (h *Helper) AddForward(proto string, hostAddr netip.Addr, hostPort, guestPort int) error {
	_, err := h.fwd.AddHostFwd(proto, hostAddr, hostPort, h.opts.Addrs().Guest, guestPort)
	return err
}

// Wait returns when ctx ends, the exit fd has an event, or (without an
// exit fd, in PID mode) the target's processes are gone.
func (h *Helper) Wait(ctx context.Context, exitFD *os.File) {
	done := make(chan struct{}, 1)
	if exitFD != nil {
		go func() { waitEvent(exitFD); done <- struct{}{} }()
	}
	t := time.NewTicker(targetCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
			if exitFD == nil && h.opts.PID != 0 {
				if alive, err := h.agent.TargetAlive(); err == nil && !alive {
					h.log.Info("target namespace has no processes left")
					return
				}
			}
		}
	}
}

// Close stops everything and removes the API socket.
func (h *Helper) Close() {
	if h.api != nil {
		h.api.Close()
	} else if h.apiLn != nil {
		h.apiLn.Close()
	}
	if h.apiDir != nil {
		h.removeAPISocket()
	}
	if h.fwd != nil {
		h.fwd.Close()
	}
	if h.proxy != nil {
		h.proxy.Close()
	}
	if h.net != nil {
		h.net.Close()
	}
	if h.agent != nil {
		h.agent.Close()
	}
}

// agentDialer dials guests from inside the namespace for the proxy.
type agentDialer struct {
	a        *nsjoin.Agent
	gateway  netip.Addr   // what IPv4 loopback clients appear as
	guest    netip.Addr   // the recommended guest address
	gateway6 netip.Addr   // what [::1] clients appear as (with -6)
	prefix6  netip.Prefix // the IPv6 network (with -6), else invalid
}

// DialTCP dials dst from the client's address, as slirp4netns shows it:
// the client's own address, or the gateway's for a client on the host's
// loopback. An IPv6 client of a forward to the guest reaches the guest's
// IPv6 address when it has one.
func (d agentDialer) DialTCP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	from, to := d.route(ctx, src.Addr(), dst)
	return d.a.DialTCPFrom(ctx, from, to)
}

// DialUDP dials dst from the client's address as DialTCP does.
func (d agentDialer) DialUDP(ctx context.Context, src, dst netip.AddrPort) (net.Conn, error) {
	from, to := d.route(ctx, src.Addr(), dst)
	return d.a.DialUDPFrom(ctx, from, to)
}

// route returns the source a connection from client comes from inside the
// namespace, and where it goes: an IPv6 client of a forward to the guest
// goes to the guest's IPv6 address (in the -6 network) when it has one,
// so that the client's address can be kept; otherwise dst.
func (d agentDialer) route(ctx context.Context, client netip.Addr, dst netip.AddrPort) (netip.Addr, netip.AddrPort) {
	client = client.Unmap()
	if client.Is6() && d.prefix6.IsValid() && dst.Addr() == d.guest {
		if addrs, err := d.a.TapAddrs(ctx); err == nil {
			for _, a := range addrs {
				if d.prefix6.Contains(a) {
					dst = netip.AddrPortFrom(a, dst.Port())
					break
				}
			}
		}
	}
	return clientSource(client, d.gateway, d.gateway6), dst
}

// clientSource is the address a forwarded connection from client comes
// from inside the namespace: the client's, but the gateway's in place of
// a loopback address (as slirp4netns does).
func clientSource(client, gateway, gateway6 netip.Addr) netip.Addr {
	client = client.Unmap()
	switch {
	case client.Is4() && client.IsLoopback():
		return gateway
	case client.IsLoopback() && gateway6.IsValid():
		return gateway6
	case client.IsLoopback():
		return gateway
	}
	return client
}
