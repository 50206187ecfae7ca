package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchyard/switchyard/api"
)

// emitter sends constant metrics built from one stats snapshot.
type emitter struct {
	ch chan<- prometheus.Metric
}

func (e emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// network sends one network's metrics.
func (e emitter) network(n *api.NetworkStats) {
	name := n.Network
	for i := range n.Ports {
		p := &n.Ports[i]
		e.counter(portRxFrames, p.RxFrames, name, p.Name)
		e.counter(portRxBytes, p.RxBytes, name, p.Name)
		e.counter(portTxFrames, p.TxFrames, name, p.Name)
		e.counter(portTxBytes, p.TxBytes, name, p.Name)
		e.counter(portErrors, p.Errors, name, p.Name)
		// rx: frames the switch refused on ingress (runt, bad VLAN,
		// invalid source MAC); tx: the port's egress queue was full.
		s := p.Security
		sec := s.SrcMAC + s.MACOwned + s.ARP + s.ND + s.Tagged
		e.counter(drops, p.RxDrops-min(sec, p.RxDrops), name, p.Name, "ingress_invalid")
		e.securityDrops(name, p)
		e.counter(drops, p.TxDrops, name, p.Name, "egress_queue_full")
	}
	g := n.Gateway
	e.counter(drops, g.QueueDrops, name, "gateway", "gateway_queue_full")
	e.counter(drops, g.BadChecksum, name, "gateway", "bad_checksum")
	e.counter(drops, g.Malformed, name, "gateway", "malformed")
	e.counter(gwFrames, g.ToStack, name, "to_stack")
	e.counter(gwFrames, g.FromStack, name, "from_stack")

	e.gauge(fdbEntries, float64(n.FDBEntries), name)
	e.gauge(fdbMax, float64(n.FDBMax), name)
	e.counter(fdbEvictions, n.FDBEvicted, name)
	e.counter(fdbLimit, n.FDBLimited, name)
	e.counter(floods, n.Floods, name)

	t := n.NAT
	e.gauge(natFlows, float64(t.TCPFlows), name, "tcp")
	e.gauge(natFlows, float64(t.UDPFlows), name, "udp")
	e.counter(natRefused, t.RefusedFull, name, "table_full")
	e.counter(natRefused, t.RefusedPolicy, name, "policy")
	e.counter(natRefused, t.DialFailed, name, "dial_failed")
	e.counter(natICMP, t.ICMPForwarded, name, "forwarded")
	e.counter(natICMP, t.ICMPDropped, name, "dropped")

	d := n.DNS
	e.counter(dnsQueries, d.Local, name, "local")
	e.counter(dnsQueries, d.Forwarded, name, "forwarded")
	e.counter(dnsQueries, d.UpstreamErrors, name, "upstream_error")
	e.counter(dnsQueries, d.Malformed, name, "malformed")
	e.counter(dnsQueries, d.Overloaded, name, "overloaded")
	for rc, v := range d.Responses {
		e.counter(dnsResponses, v, name, rc)
	}

	h := n.DHCP
	e.gauge(dhcpLeases, float64(h.Leases), name)
	e.counter(dhcpMessages, h.Discovers, name, "discover")
	e.counter(dhcpMessages, h.Requests, name, "request")
	e.counter(dhcpMessages, h.Acks, name, "ack")
	e.counter(dhcpMessages, h.Naks, name, "nak")
	e.counter(dhcpMessages, h.Malformed, name, "malformed")
	e.counter(dhcpMessages, h.PoolExhausted, name, "pool_exhausted")
}
