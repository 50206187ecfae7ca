// Package metrics exports switchyard's counters to Prometheus. Its
// Collector reads the daemon's own statistics (the ones `switchyard stats`
// prints) at scrape time, so there is one set of counters, never a copy
// kept in step.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchyard/switchyard/api"
)

// Source returns a snapshot of the daemon's counters; (*daemon.Daemon).Stats
// is one.
type Source func() api.Stats

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src   Source
	hosts Hosts
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a collector reading src at every scrape.
func New(src Source, opts ...Option) *Collector {
	c := &Collector{src: src}
	for _, o := range opts {
		o(c)
	}
	return c
}

// desc builds a metric description with the switchyard_ prefix.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("switchyard_"+name, help, labels, nil)
}

// Metric descriptions. Labels are few and bounded: network and port names
// are chosen by the operator (one per endpoint), reasons, protocols,
// rcodes and paths are fixed sets.
var (
	portRxFrames = desc("port_rx_frames_total", "Frames received from a switch port.", "network", "port")
	portRxBytes  = desc("port_rx_bytes_total", "Bytes received from a switch port.", "network", "port")
	portTxFrames = desc("port_tx_frames_total", "Frames sent to a switch port.", "network", "port")
	portTxBytes  = desc("port_tx_bytes_total", "Bytes sent to a switch port.", "network", "port")
	portErrors   = desc("port_errors_total", "Read and write errors of a switch port.", "network", "port")
	drops        = desc("drops_total", "Frames dropped, by where and why.", "network", "port", "reason")
	fdbEntries   = desc("fdb_entries", "Learned MAC addresses in the forwarding table.", "network")
	fdbMax       = desc("fdb_max_entries", "Forwarding table size cap.", "network")
	fdbEvictions = desc("fdb_evictions_total", "Forwarding table entries evicted at the cap.", "network")
	floods       = desc("floods_total", "Frames flooded to every port (unknown unicast, broadcast, multicast).", "network")
	gwFrames     = desc("gateway_frames_total", "Frames between the switch and the gateway's network stack.", "network", "direction")
	natFlows     = desc("nat_flows", "NAT flows open now.", "network", "protocol")
	natRefused   = desc("nat_refused_total", "NAT connections refused.", "network", "reason")
	natICMP      = desc("nat_icmp_echo_total", "ICMP echo requests through the NAT.", "network", "result")
	dnsQueries   = desc("dns_queries_total", "DNS messages received by the gateway.", "network", "outcome")
	dnsResponses = desc("dns_responses_total", "DNS replies sent by the gateway, by rcode.", "network", "rcode")
	dhcpLeases   = desc("dhcp_leases", "DHCP addresses bound or offered now.", "network")
	dhcpMessages = desc("dhcp_messages_total", "DHCP messages received and sent.", "network", "type")
	publishConns = desc("publish_connections_total", "Connections (TCP) and flows (UDP) of published ports, by path.", "path")
	publishOpen  = desc("publish_connections", "Connections and flows of published ports open now, by path.", "path")
	publishBytes = desc("publish_bytes_total", "Payload bytes relayed for published ports, by path and direction.", "path", "direction")
	proxyErrors  = desc("proxy_errors_total", "Errors of the userspace publish path.", "kind")
)

// Describe sends every metric description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{portRxFrames, portRxBytes, portTxFrames, portTxBytes, portErrors,
		drops, fdbEntries, fdbMax, fdbEvictions, floods, gwFrames, natFlows, natRefused, natICMP,
		dnsQueries, dnsResponses, dhcpLeases, dhcpMessages, publishConns, publishOpen, publishBytes, proxyErrors,
		storeUp, peers, keepAlive, fdbLimit} {
		ch <- d
	}
}

// Collect reads the source once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src()
	e := emitter{ch}
	for i := range st.Networks {
		e.network(&st.Networks[i])
	}
	p := st.Proxy
	e.counter(publishConns, p.Accepted, "userspace")
	e.gauge(publishOpen, float64(p.Active), "userspace")
	e.counter(publishBytes, p.BytesIn, "userspace", "in")
	e.counter(publishBytes, p.BytesOut, "userspace", "out")
	e.counter(proxyErrors, p.AcceptErrors, "accept")
	e.counter(proxyErrors, p.DialFailures, "dial")
	e.counter(proxyErrors, p.Refused, "udp_table_full")
	c.cluster(e)
}
