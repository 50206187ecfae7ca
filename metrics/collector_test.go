package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/metrics"
)

func fakeStats() api.Stats {
	return api.Stats{
		Networks: []api.NetworkStats{{
			Network: "blue", FDBEntries: 3, FDBMax: 8192, FDBEvicted: 4, Floods: 5,
			Ports: []api.PortStats{{Name: "web", RxFrames: 10, RxBytes: 1000, RxDrops: 1, TxFrames: 20,
				TxBytes: 2000, TxDrops: 2, Errors: 7}},
			NAT:     api.NATStats{TCPFlows: 6, UDPFlows: 8, RefusedFull: 9, RefusedPolicy: 11, DialFailed: 12},
			Gateway: api.GatewayStats{ToStack: 30, FromStack: 31, QueueDrops: 13, BadChecksum: 14, Malformed: 15},
			DNS:     api.DNSStats{Local: 16, Responses: map[string]uint64{"NOERROR": 17, "NXDOMAIN": 18}},
			DHCP:    api.DHCPStats{Leases: 19, Acks: 20},
		}},
		Proxy: api.ProxyStats{Accepted: 21, Active: 22, AcceptErrors: 23, BytesIn: 24},
	}
}

func TestCollectorMapsStats(t *testing.T) {
	fams := scrape(t, serve(t, metrics.Handler(fakeStats)))
	l := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"switchyard_port_rx_frames_total", l("network", "blue", "port", "web"), 10},
		{"switchyard_port_rx_bytes_total", l("network", "blue", "port", "web"), 1000},
		{"switchyard_port_tx_frames_total", l("network", "blue", "port", "web"), 20},
		{"switchyard_port_tx_bytes_total", l("network", "blue", "port", "web"), 2000},
		{"switchyard_port_errors_total", l("network", "blue", "port", "web"), 7},
		{"switchyard_drops_total", l("network", "blue", "port", "web", "reason", "ingress_invalid"), 1},
		{"switchyard_drops_total", l("network", "blue", "port", "web", "reason", "egress_queue_full"), 2},
		{"switchyard_drops_total", l("network", "blue", "port", "gateway", "reason", "gateway_queue_full"), 13},
		{"switchyard_drops_total", l("network", "blue", "port", "gateway", "reason", "bad_checksum"), 14},
		{"switchyard_drops_total", l("network", "blue", "port", "gateway", "reason", "malformed"), 15},
		{"switchyard_fdb_entries", l("network", "blue"), 3},
		{"switchyard_fdb_max_entries", l("network", "blue"), 8192},
		{"switchyard_fdb_evictions_total", l("network", "blue"), 4},
		{"switchyard_floods_total", l("network", "blue"), 5},
		{"switchyard_gateway_frames_total", l("network", "blue", "direction", "from_stack"), 31},
		{"switchyard_nat_flows", l("network", "blue", "protocol", "tcp"), 6},
		{"switchyard_nat_flows", l("network", "blue", "protocol", "udp"), 8},
		{"switchyard_nat_refused_total", l("network", "blue", "reason", "table_full"), 9},
		{"switchyard_nat_refused_total", l("network", "blue", "reason", "policy"), 11},
		{"switchyard_nat_refused_total", l("network", "blue", "reason", "dial_failed"), 12},
		{"switchyard_dns_queries_total", l("network", "blue", "outcome", "local"), 16},
		{"switchyard_dns_responses_total", l("network", "blue", "rcode", "NOERROR"), 17},
		{"switchyard_dns_responses_total", l("network", "blue", "rcode", "NXDOMAIN"), 18},
		{"switchyard_dhcp_leases", l("network", "blue"), 19},
		{"switchyard_dhcp_messages_total", l("network", "blue", "type", "ack"), 20},
		{"switchyard_publish_connections_total", l("path", "userspace"), 21},
		{"switchyard_publish_connections", l("path", "userspace"), 22},
		{"switchyard_proxy_errors_total", l("kind", "accept"), 23},
		{"switchyard_publish_bytes_total", l("path", "userspace", "direction", "in"), 24},
	} {
		got, ok := fams.value(tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// TestCollectorLint checks names and help against Prometheus conventions.
func TestCollectorLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(metrics.New(fakeStats))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestServerListenServeShutdown(t *testing.T) {
	if _, err := metrics.Listen("256.0.0.1:1", fakeStats, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Listen on a bad address succeeded")
	}
	s, err := metrics.Listen("127.0.0.1:0", fakeStats, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	fams := scrape(t, "http://"+s.Addr().String()+"/metrics")
	if v, _ := fams.value("switchyard_floods_total", nil); v != 5 {
		t.Fatalf("floods over TCP = %v, want 5", v)
	}
	resp, err := http.Post("http://"+s.Addr().String()+"/metrics", "text/plain", nil)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics: %s", resp.Status)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/metrics"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
