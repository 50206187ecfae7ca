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
	// hw is the set of endpoint MACs, for an uplink network's resolver
	// that serves its endpoints only (read per frame: no allocation).
	hw   atomic.Pointer[map[[6]byte]struct{}]
	stop chan struct{}
	wg   sync.WaitGroup
}

func (d *Daemon) newServices(n *network, mac net.HardwareAddr) (*services, error) {
	s := &services{stop: make(chan struct{})}
	s.macs.Store(&map[string]netip.Addr{})
	s.hw.Store(&map[[6]byte]struct{}{})
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
	hw := make(map[[6]byte]struct{}, len(n.endpoints))
	recs := make([]dns.Record, 0, len(n.endpoints))
	for _, ep := range n.endpoints {
		macs[ep.mac.String()] = ep.addr
		if len(ep.mac) == 6 {
			hw[[6]byte(ep.mac)] = struct{}{}
		}
		recs = append(recs, dns.Record{Name: ep.info.Name, Aliases: ep.info.Aliases, Addrs: addrs(ep.addr, ep.addr6)})
	}
	recs = append(recs, n.remoteRecords()...)
	s.macs.Store(&macs)
	s.hw.Store(&hw)
	s.dns.SetRecords(recs)
}

// dhcpHandler is the gateway's DHCP hook; nil when DHCP is off.
func (s *services) dhcpHandler() func([]byte) ([]byte, bool) {
	if s.dhcp == nil {
		return nil
	}
	return s.dhcp.Handle
}

// isEndpoint reports whether mac is an attached endpoint's.
func (s *services) isEndpoint(mac [6]byte) bool {
	_, ok := (*s.hw.Load())[mac]
	return ok
}

func (s *services) dnsServer() gateway.DNSServer { return s.dns }

func (s *services) close() {
	close(s.stop)
	s.wg.Wait()
	s.dns.Close()
}
