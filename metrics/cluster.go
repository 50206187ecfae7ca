package metrics

import (
	"github.com/switchyard/switchyard/api"
)

// Hosts lists the cluster's members; (*daemon.Daemon).Hosts is one.
type Hosts func() ([]api.Host, error)

// Option adds a source to a Collector.
type Option func(*Collector)

// WithHosts exports the overlay peers (cluster members other than this
// host) and their last keep-alive; give it only when the daemon is in a
// cluster.
func WithHosts(h Hosts) Option { return func(c *Collector) { c.hosts = h } }

var (
	storeUp   = desc("cluster_store_up", "Whether the last read of the cluster store succeeded.")
	peers     = desc("overlay_peers", "Cluster members other than this host (overlay VTEPs).")
	keepAlive = desc("overlay_peer_last_keepalive_timestamp_seconds", "When a peer last renewed its membership lease.", "peer")
	fdbLimit  = desc("fdb_limited_total", "MACs not learned because their port (without port security) reached its cap.", "network")
)

// cluster sends the cluster metrics, if the collector has a host source.
func (c *Collector) cluster(e emitter) {
	if c.hosts == nil {
		return
	}
	hs, err := c.hosts()
	if err != nil {
		e.gauge(storeUp, 0)
		return
	}
	e.gauge(storeUp, 1)
	n := 0
	for _, h := range hs {
		if h.Self {
			continue
		}
		n++
		e.gauge(keepAlive, float64(h.LastKeepAlive.UnixNano())/1e9, h.Name)
	}
	e.gauge(peers, float64(n))
}

// securityDrops sends a port's port-security drops by reason; the rest of
// its ingress drops are invalid frames.
func (e emitter) securityDrops(network string, p *api.PortStats) {
	s := p.Security
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"port_security_src_mac", s.SrcMAC}, {"port_security_mac_owned", s.MACOwned}, {"port_security_arp", s.ARP},
		{"port_security_nd", s.ND}, {"port_security_tagged", s.Tagged}} {
		e.counter(drops, r.n, network, p.Name, r.reason)
	}
}
