package daemon

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/dhcp"
	"github.com/switchyard/switchyard/dns"
	"github.com/switchyard/switchyard/gateway"
)

// dhcpExpireEvery is how often expired dynamic leases are reclaimed.
const dhcpExpireEvery = 30 * time.Second

// services are a network's DHCP and DNS servers on its gateway.
type services struct {
	dhcp *dhcp.Server
	dns  *dns.Server
	// macs maps endpoint MACs to their addresses; DHCP reads it on the
	// data path, so it is a snapshot, never guarded by the daemon's lock.
	macs atomic.Pointer[map[string]netip.Addr]
	stop chan struct{}
	wg   sync.WaitGroup
}

func (d *Daemon) newServices(n *network, mac net.HardwareAddr) (*services, error) {
	s := &services{stop: make(chan struct{})}
	s.macs.Store(&map[string]netip.Addr{})
	upstreams, err := dns.LoadResolvConf(d.cfg.ResolvConf)
	if err != nil {
		d.cfg.Log.Warn("no upstream resolvers: names the gateway does not know get SERVFAIL", "network", n.name, "err", err)
	}
	log := d.cfg.Log.With("network", n.name)
	s.dns = dns.New(dns.Config{Domain: n.name, ResolveNames: n.dnsNames, Upstreams: upstreams, Log: log})
	if !n.dhcp.on {
		return s, nil
	}
	gw := n.pool.Gateway()
	s.dhcp, err = dhcp.New(dhcp.Config{
		ServerIP: gw, ServerMAC: mac, Subnet: n.subnet, Router: gw, DNS: []netip.Addr{gw},
		MTU: n.mtu, Domain: n.name, Log: log,
	}, n.dyn, s.static)
	if err != nil {
		s.dns.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.expireLeases()
	return s, nil
}

// static gives DHCP the address of an attached endpoint's MAC.
func (s *services) static(mac net.HardwareAddr) (netip.Addr, bool) {
	a, ok := (*s.macs.Load())[mac.String()]
	return a, ok
}

func (s *services) expireLeases() {
	defer s.wg.Done()
	t := time.NewTicker(dhcpExpireEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.dhcp.Expire()
		}
	}
}

// update publishes a network's endpoints to DHCP and DNS; d.mu must be
// held (DNS and DHCP read the results without it).
func (s *services) update(n *network) {
	macs := map[string]netip.Addr{}
	recs := make([]dns.Record, 0, len(n.endpoints))
	for _, ep := range n.endpoints {
		macs[ep.mac.String()] = ep.addr
		recs = append(recs, dns.Record{Name: ep.info.Name, Aliases: ep.info.Aliases, Addrs: []netip.Addr{ep.addr}})
	}
	recs = append(recs, n.remoteRecords()...)
	s.macs.Store(&macs)
	s.dns.SetRecords(recs)
}

// dhcpHandler is the gateway's DHCP hook; nil when DHCP is off.
func (s *services) dhcpHandler() func([]byte) ([]byte, bool) {
	if s.dhcp == nil {
		return nil
	}
	return s.dhcp.Handle
}

func (s *services) dnsServer() gateway.DNSServer { return s.dns }

func (s *services) close() {
	close(s.stop)
	s.wg.Wait()
	s.dns.Close()
}
