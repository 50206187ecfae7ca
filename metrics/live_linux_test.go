package metrics_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/metrics"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// liveDaemon starts a daemon with real TAPs and no upstream resolvers.
func liveDaemon(t *testing.T) *daemon.Daemon {
	t.Helper()
	nstest.RequireNetAdmin(t)
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(rc, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{ResolvConf: rc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// queryA asks server for name's A record from inside ns.
func queryA(t *testing.T, ns, server, name string) *mdns.Msg {
	t.Helper()
	var r *mdns.Msg
	err := nsutil.Do(nstest.Path(ns), func() error {
		c := &mdns.Client{Net: "udp", Timeout: 3 * time.Second}
		q := new(mdns.Msg)
		q.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
		var err error
		r, _, err = c.Exchange(q, net.JoinHostPort(server, "53"))
		return err
	})
	if err != nil {
		t.Fatalf("DNS %s from %s: %v", name, ns, err)
	}
	return r
}

// TestScrapeFollowsTraffic scrapes a live daemon before and after traffic
// between two namespaces and checks the counters moved by at least what
// was sent.
func TestScrapeFollowsTraffic(t *testing.T) {
	d := liveDaemon(t)
	url := serve(t, metrics.Handler(d.Stats))
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "mblue", Subnet: "10.213.7.0/24"}); err != nil {
		t.Fatal(err)
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	if _, err := d.Attach("mblue", api.EndpointCreate{Netns: a, Name: "ma"}); err != nil {
		t.Fatal(err)
	}
	epB, err := d.Attach("mblue", api.EndpointCreate{Netns: b, Name: "mb"})
	if err != nil {
		t.Fatal(err)
	}
	port := func(p string) map[string]string { return map[string]string{"network": "mblue", "port": p} }
	before := scrape(t, url)
	rxBefore, ok := before.value("switchyard_port_rx_frames_total", port("ma"))
	if !ok {
		t.Fatalf("no rx counter for port ma; families: %d", len(before))
	}
	txBytesBefore, _ := before.value("switchyard_port_tx_bytes_total", port("mb"))
	noerrBefore, _ := before.value("switchyard_dns_responses_total", map[string]string{"network": "mblue", "rcode": "NOERROR"})
	nxBefore, _ := before.value("switchyard_dns_responses_total", map[string]string{"network": "mblue", "rcode": "NXDOMAIN"})

	const pings = 5
	ipB := strings.Split(epB.IP, "/")[0]
	if out, err := nstest.Exec(a, "ping", "-c", "5", "-i", "0.2", "-s", "1000", "-W", "2", ipB); err != nil {
		t.Fatalf("ping %s: %v\n%s", ipB, err, out)
	}
	gw := d.Networks()
	var gwIP string
	for _, n := range gw {
		if n.Name == "mblue" {
			gwIP = n.Gateway
		}
	}
	if r := queryA(t, a, gwIP, "mb.mblue"); r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("DNS mb.mblue: %v", r)
	}
	if r := queryA(t, a, gwIP, "nosuch.mblue"); r.Rcode != mdns.RcodeNameError {
		t.Fatalf("DNS nosuch.mblue rcode %d, want NXDOMAIN", r.Rcode)
	}

	after := scrape(t, url)
	rxAfter, _ := after.value("switchyard_port_rx_frames_total", port("ma"))
	if rxAfter-rxBefore < pings {
		t.Errorf("rx frames of ma moved by %v, want >= %d", rxAfter-rxBefore, pings)
	}
	txBytesAfter, _ := after.value("switchyard_port_tx_bytes_total", port("mb"))
	if txBytesAfter-txBytesBefore < pings*1000 {
		t.Errorf("tx bytes to mb moved by %v, want >= %d", txBytesAfter-txBytesBefore, pings*1000)
	}
	if v, _ := after.value("switchyard_fdb_entries", map[string]string{"network": "mblue"}); v < 2 {
		t.Errorf("fdb entries %v, want >= 2", v)
	}
	if v, _ := after.value("switchyard_dns_responses_total", map[string]string{"network": "mblue", "rcode": "NOERROR"}); v != noerrBefore+1 {
		t.Errorf("NOERROR responses %v, want %v", v, noerrBefore+1)
	}
	if v, _ := after.value("switchyard_dns_responses_total", map[string]string{"network": "mblue", "rcode": "NXDOMAIN"}); v != nxBefore+1 {
		t.Errorf("NXDOMAIN responses %v, want %v", v, nxBefore+1)
	}
	// The same counter is what `switchyard stats` reports.
	for _, n := range d.Stats().Networks {
		for _, p := range n.Ports {
			if n.Network == "mblue" && p.Name == "ma" && float64(p.RxFrames) < rxAfter {
				t.Errorf("stats rx frames %d behind the scrape's %v", p.RxFrames, rxAfter)
			}
		}
	}
}
