package metrics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/metrics"
)

func TestClusterAndSecurityMetrics(t *testing.T) {
	seen := time.Unix(1700000000, 0)
	var storeErr error
	hosts := func() ([]api.Host, error) {
		return []api.Host{{Name: "me", Self: true, LastKeepAlive: seen}, {Name: "h2", LastKeepAlive: seen}}, storeErr
	}
	stats := func() api.Stats {
		return api.Stats{Networks: []api.NetworkStats{{Network: "n", FDBLimited: 9,
			Ports: []api.PortStats{{Name: "p", RxDrops: 10, Security: api.SecurityDrops{SrcMAC: 3, ARP: 2}}}}}}
	}
	fams := scrape(t, serve(t, metrics.Handler(stats, metrics.WithHosts(hosts))))
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"switchyard_overlay_peers", nil, 1},
		{"switchyard_overlay_peer_last_keepalive_timestamp_seconds", map[string]string{"peer": "h2"}, 1700000000},
		{"switchyard_cluster_store_up", nil, 1},
		{"switchyard_fdb_limited_total", map[string]string{"network": "n"}, 9},
		{"switchyard_drops_total", map[string]string{"port": "p", "reason": "ingress_invalid"}, 5},
		{"switchyard_drops_total", map[string]string{"port": "p", "reason": "port_security_src_mac"}, 3},
		{"switchyard_drops_total", map[string]string{"port": "p", "reason": "port_security_arp"}, 2},
	} {
		if got, ok := fams.value(tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := fams.value("switchyard_overlay_peer_last_keepalive_timestamp_seconds", map[string]string{"peer": "me"}); ok {
		t.Error("this host listed as its own peer")
	}
	storeErr = errors.New("etcd down")
	fams = scrape(t, serve(t, metrics.Handler(stats, metrics.WithHosts(hosts))))
	if v, ok := fams.value("switchyard_cluster_store_up", nil); !ok || v != 0 {
		t.Errorf("store up with etcd down: %v %v", v, ok)
	}
	if _, ok := fams["switchyard_overlay_peers"]; ok {
		t.Error("peers reported without a store")
	}
	problems, err := testutil.CollectAndLint(metrics.New(stats, metrics.WithHosts(hosts)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// Without a cluster there are no cluster metrics.
	if fams := scrape(t, serve(t, metrics.Handler(stats))); fams["switchyard_cluster_store_up"] != nil {
		t.Error("cluster metrics without a cluster")
	}
}
