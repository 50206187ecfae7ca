package rootless

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/switchyard/switchyard/capture"
	"github.com/switchyard/switchyard/dhcp"
	"github.com/switchyard/switchyard/dns"
	"github.com/switchyard/switchyard/gateway"
	"github.com/switchyard/switchyard/ipam"
	"github.com/switchyard/switchyard/nat"
	"github.com/switchyard/switchyard/port"
	vswitch "github.com/switchyard/switchyard/switch"
)

// NetConfig describes the network a rootless helper gives its namespace,
// with slirp4netns's addresses.
type NetConfig struct {
	// Prefix is the network (10.0.2.0/24); Gateway network+2 (also the
	// host-loopback alias), DNS network+3, Guest network+100, DHCP
	// hands out DHCPStart..DHCPEnd (+15..+30).
	Prefix                          netip.Prefix
	Gateway, DNS, Guest             netip.Addr
	DHCPStart, DHCPEnd              netip.Addr
	MTU                             int
	DisableHostLoopback, DisableDNS bool
	// GuestMAC, when known (-c), always gets Guest from DHCP.
	GuestMAC net.HardwareAddr
	// ResolvConf lists the host's resolvers (/etc/resolv.conf).
	ResolvConf string
	// Resolvers, when not nil, replaces reading ResolvConf.
	Resolvers []string
	// Pcap, when set, captures the network into this pcapng file.
	Pcap string
	// OutboundAddr, when valid, is the source of outbound connections.
	OutboundAddr netip.Addr
	// Prefix6, when valid, turns IPv6 on (-6): fd00::/64, with Gateway6
	// (fd00::2, also the alias of the host's [::1]) and DNS6 (fd00::3);
	// the guest configures itself from the gateway's router
	// advertisements. OutboundAddr6, when valid, is the source of IPv6
	// outbound connections.
	Prefix6                       netip.Prefix
	Gateway6, DNS6, OutboundAddr6 netip.Addr
	Log                           *slog.Logger
}

// Network is a running rootless network: one switch with the namespace's
// TAP and the gateway netstack.
type Network struct {
	sw    *vswitch.Switch
	gw    *gateway.Gateway
	dns   *dns.Server
	pcap  *capture.File
	hub   *capture.Hub
	tapID vswitch.PortID
	log   *slog.Logger
}

// StartNetwork builds the network around tap (the switch owns it).
func StartNetwork(tap port.Port, cfg NetConfig) (*Network, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	pool, err := dhcpPool(cfg)
	if err != nil {
		return nil, err
	}
	n := &Network{sw: vswitch.New(vswitch.Config{Name: "rootless", Log: cfg.Log}), log: cfg.Log}
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = mac[0]&0xfe | 0x02
	gcfg := gateway.Config{Subnet: cfg.Prefix, Address: cfg.Gateway, MAC: mac, MTU: cfg.MTU,
		NAT:                     nat.Config{AllowHostLoopback: !cfg.DisableHostLoopback, Dial: outboundDialer(cfg.OutboundAddr, cfg.OutboundAddr6), Log: cfg.Log},
		UnreachableHostLoopback: cfg.DisableHostLoopback, DNSAddress: cfg.DNS, Log: cfg.Log}
	if cfg.Prefix6.IsValid() {
		gcfg.Subnet6, gcfg.Address6 = cfg.Prefix6, cfg.Gateway6
	}
	static := func(m net.HardwareAddr) (netip.Addr, bool) {
		return cfg.Guest, cfg.GuestMAC != nil && m.String() == cfg.GuestMAC.String()
	}
	srv, err := dhcp.New(dhcp.Config{ServerIP: cfg.Gateway, ServerMAC: mac, Subnet: cfg.Prefix, Router: cfg.Gateway,
		DNS: []netip.Addr{cfg.DNS}, MTU: cfg.MTU, Log: cfg.Log}, pool, static)
	if err != nil {
		n.sw.Close()
		return nil, err
	}
	gcfg.DHCP = srv.Handle
	if !cfg.DisableDNS {
		ups, err := cfg.Resolvers, error(nil)
		if ups == nil {
			ups, err = LoadResolvers(cfg.ResolvConf)
		}
		if err != nil {
			cfg.Log.Warn("no upstream resolvers", "err", err)
		}
		n.dns = dns.New(dns.Config{Upstreams: ups, Log: cfg.Log})
		gcfg.DNS = n.dns
		if cfg.Prefix6.IsValid() {
			gcfg.DNSAddress6 = cfg.DNS6
		}
	}
	if n.gw, err = gateway.New(gcfg); err != nil {
		n.Close()
		return nil, err
	}
	if cfg.Pcap != "" {
		if n.pcap, err = capture.CreateFile(cfg.Pcap, false); err != nil {
			n.Close()
			return nil, err
		}
		n.hub = capture.NewHub(n.sw, "rootless")
		n.hub.Add(n.pcap.Session(), nil)
	}
	if _, err := n.sw.AddPort(n.gw.Port(), vswitch.PortConfig{Name: "gateway"}); err != nil {
		n.Close()
		return nil, err
	}
	if n.tapID, err = n.sw.AddPort(tap, vswitch.PortConfig{Name: "tap"}); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// LoadResolvers reads the nameservers of resolvConf (/etc/resolv.conf when
// empty).
func LoadResolvers(resolvConf string) ([]string, error) {
	if resolvConf == "" {
		resolvConf = "/etc/resolv.conf"
	}
	return dns.LoadResolvConf(resolvConf)
}

// dhcpPool is an address pool that only hands out the DHCP range: every
// other address of the network is reserved (the guest's static address
// .100 included, given only to its MAC).
func dhcpPool(cfg NetConfig) (*ipam.Pool, error) {
	pool, err := ipam.New(cfg.Prefix, cfg.Gateway)
	if err != nil {
		return nil, fmt.Errorf("rootless network: %w", err)
	}
	for a := cfg.Prefix.Addr().Next(); cfg.Prefix.Contains(a); a = a.Next() {
		if a.Less(cfg.DHCPStart) || cfg.DHCPEnd.Less(a) {
			pool.Reserve(a) // errors: gateway or broadcast, already reserved
		}
	}
	return pool, nil
}

// NAT returns the gateway's NAT (flows, counters).
func (n *Network) NAT() *nat.NAT { return n.gw.NAT() }

// Close stops the network; the TAP is closed with the switch.
func (n *Network) Close() {
	if n.pcap != nil {
		n.hub.Remove(n.pcap.Session())
	}
	n.sw.Close()
	if n.gw != nil {
		n.gw.Close()
	}
	if n.dns != nil {
		n.dns.Close()
	}
	if n.pcap != nil {
		if err := n.pcap.Close(); err != nil {
			n.log.Warn("pcap", "err", err)
		}
	}
}

// outboundDialer binds outbound TCP and UDP to addr4 (IPv4 destinations)
// or addr6 (IPv6 destinations) when they are valid.
func outboundDialer(addr4, addr6 netip.Addr) func(ctx context.Context, network, address string) (net.Conn, error) {
	if !addr4.IsValid() && !addr6.IsValid() {
		return nil
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		src := addr4
		if ap, err := netip.ParseAddrPort(address); err == nil && ap.Addr().Unmap().Is6() {
			src = addr6
		}
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		if src.IsValid() {
			if network == "udp" {
				d.LocalAddr = &net.UDPAddr{IP: src.AsSlice()}
			} else {
				d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
			}
		}
		return d.DialContext(ctx, network, address)
	}
}
