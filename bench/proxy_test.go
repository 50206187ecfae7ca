package bench

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// sampleProxyReport has the four proxy variants and a memory comparison
// whose docker-proxy side was extrapolated.
func sampleProxyReport() *Report {
	row := func(name string, gbps, p50, p99, cps, up50, up99 float64) Row {
		return Row{Topology: name, MTU: 1500, Metrics: Metrics{
			Bulk:  &BulkResult{Gbps: gbps},
			RR:    &RRResult{P50US: p50, P99US: p99},
			CRR:   &CRRResult{ConnsPerSec: cps},
			UDPRR: &RRResult{P50US: up50, P99US: up99},
		}}
	}
	rep := &Report{
		Benchmark: "proxy", Title: "Proxy benchmark", Reference: ProxyReference, UDPRR: true,
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Host:    HostInfo{Kernel: "6.1", CPUs: 2, GoVersion: "go1.x", LoadAvg: "0.10 0.20 0.30"}, DurationS: 5, MessageSize: 64,
		MTUs: []int{1500}, TargetMTUs: []int{1500}, Notes: proxyNotes(),
		Rows: []Row{
			row(ProxyUserspace, 5, 60, 120, 3000, 50, 100),
			row(ProxyKernel, 8, 40, 90, 4000, 30, 60),
			row(ProxyDocker, 4, 80, 200, 1500, 100, 250),
			{Topology: ProxyKernelVeth, MTU: 1500, Metrics: Metrics{
				Bulk: &BulkResult{Gbps: 20}, RR: &RRResult{P50US: 20, P99US: 40},
				Errors: []string{"crr: boom", "udp rr: 3 of 1003 datagrams unanswered within 500ms"},
			}},
		},
		Memory: &ProxyMemory{Mappings: 1000, PortBase: 40000, SwitchyardBaseKB: 30 * 1024, SwitchyardKB: 40 * 1024, SwitchyardAfterTrafficKB: 60 * 1024,
			PublishSeconds: 0.25, DockerProxyStarted: 500, DockerProxyKB: 500 * 1024, DockerProxyStartSeconds: 60.5},
	}
	rep.ComputeRatios()
	rep.Targets = rep.EvaluateProxyTargets()
	return rep
}

func TestProxyRatiosAndTargets(t *testing.T) {
	rep := sampleProxyReport()
	us := rep.Find(ProxyUserspace, 1500).Ratios
	if *us.Bulk != 1.25 || *us.ConnRate != 2 || *us.UDPP50 != 0.5 || *us.P50 != 0.75 {
		t.Fatalf("ratios %+v", us)
	}
	if r := rep.Find(ProxyKernelVeth, 1500).Ratios; r.UDPP50 != nil || r.ConnRate != nil {
		t.Fatalf("missing figures must give nil ratios: %+v", r)
	}
	want := []Target{
		{"switchyard-userspace bulk ≥ 1× docker-proxy (MTU 1500)", TargetMet,
			"switchyard-userspace 5.00 Gb/s vs docker-proxy 4.00 Gb/s = 1.25×"},
		{"switchyard-userspace conn/s ≥ 1.5× docker-proxy (MTU 1500)", TargetMet,
			"switchyard-userspace 3000 conn/s vs docker-proxy 1500 conn/s = 2.00×"},
		{"switchyard-userspace UDP rr p50 ≤ 0.7× docker-proxy (MTU 1500)", TargetMet,
			"switchyard-userspace 50.0 µs vs docker-proxy 100 µs = 0.50×"},
		{"switchyard PSS with 1000 mappings ≤ 1/10 of 1000 docker-proxy processes", TargetMet,
			"switchyard 40.0 MiB vs docker-proxy 1000 MiB = 0.04×"},
	}
	if len(rep.Targets) != len(want) {
		t.Fatalf("targets %+v", rep.Targets)
	}
	for i, w := range want {
		if rep.Targets[i] != w {
			t.Errorf("target %d\n got %+v\nwant %+v", i, rep.Targets[i], w)
		}
	}

	rep.Find(ProxyUserspace, 1500).UDPRR.P50US = 80
	rep.Find(ProxyDocker, 1500).CRR = nil
	rep.Memory.DockerProxyStarted = 1000
	tg := rep.EvaluateProxyTargets()
	if tg[2].Status != TargetNotMet || tg[1].Status != TargetUnknown || tg[1].Detail != "no docker-proxy figure" {
		t.Errorf("changed targets %+v", tg)
	}
	if tg[3].Detail != "switchyard 40.0 MiB vs docker-proxy 500 MiB = 0.08×" || tg[3].Status != TargetMet {
		t.Errorf("memory target without extrapolation %+v", tg[3])
	}
	if got := (&Report{TargetMTUs: []int{1500}}).EvaluateProxyTargets(); got != nil {
		t.Errorf("targets of an empty report: %+v", got)
	}
	memOnly := &Report{Memory: &ProxyMemory{Mappings: 10}}
	if got := memOnly.EvaluateProxyTargets(); len(got) != 1 || got[0].Status != TargetUnknown || got[0].Detail != "no switchyard figure" {
		t.Errorf("memory target without figures: %+v", got)
	}
}

func TestProxyMarkdown(t *testing.T) {
	rep := sampleProxyReport()
	md := rep.Markdown()
	for _, want := range []string{
		"| topology | MTU | bulk Gb/s | rr p50 µs | rr p99 µs | conn/s | udp p50 µs | udp p99 µs | bulk × | p50 × | conn/s × | udp p50 × | status |\n" +
			"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
		"| switchyard-userspace | 1500 | 5.00 | 60.0 | 120 | 3000 | 50.0 | 100 | 1.25× | 0.75× | 2.00× | 0.50× | ok |\n",
		"| kernel-dnat-veth | 1500 | 20.0 | 20.0 | 40.0 | — | — | — | 5.00× | 0.25× | — | — | 2 error(s) [1] |\n",
		"- [2] kernel-dnat-veth, MTU 1500: udp rr: 3 of 1003 datagrams unanswered within 500ms\n",
		"| memory (PSS) | processes | mappings | total MiB | per mapping KiB |\n|---|--:|--:|--:|--:|\n",
		"| switchyard daemon | 1 | 1000 | 40.0 | 41.0 |\n",
		"| docker-proxy (extrapolated) | 500 of 1000 | 1000 | 1000 | 1024 |\n",
		"\nMemory: switchyard daemon: 30.0 MiB before publishing ports 40000-40999 (10.2 KiB per mapping added; publishing took 0.25s), " +
			"60.0 MiB after the traffic runs; docker-proxy: 500 processes started in 60.5s (the start limit was reached: " +
			"the total is their PSS × 1000/500).\n",
		"Targets (MTU 1500):\n\n- **met** — switchyard-userspace bulk ≥ 1× docker-proxy (MTU 1500)",
		"- **met** — switchyard PSS with 1000 mappings ≤ 1/10 of 1000 docker-proxy processes: switchyard 40.0 MiB vs docker-proxy 1000 MiB = 0.04×\n",
		"\nProxy benchmark, 2025-01-02 03:04 UTC",
		"Ratios are against docker-proxy at the same MTU",
		"kernel DNAT alone",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasPrefix(md, rep.TableMarkdown()) || !strings.Contains(rep.TableMarkdown(), "| memory (PSS) |") {
		t.Errorf("TableMarkdown lacks the memory table:\n%s", rep.TableMarkdown())
	}
	for _, other := range []*Report{sampleReport(), sampleNATReport(), sampleCaptureReport()} {
		if md := other.Markdown(); strings.Contains(md, "udp p50") || strings.Contains(md, "memory (PSS)") {
			t.Errorf("%s report has proxy columns:\n%s", other.Benchmark, md)
		}
	}

	failed := &ProxyMemory{Mappings: 5, Errors: []string{"switchyard: no such file"}}
	rep = &Report{Memory: failed}
	tm := rep.memoryTable()
	if !strings.Contains(tm, "| switchyard daemon | 1 | 5 | — | — |") || !strings.Contains(tm, "| docker-proxy | 0 | 5 | — | — |") ||
		!strings.Contains(tm, "\nMemory: error: switchyard: no such file.\n") {
		t.Errorf("memory table of a failed measurement:\n%s", tm)
	}
	if s := (&ProxyMemory{}).summary(); s != "Memory was not measured." {
		t.Errorf("empty summary %q", s)
	}
}

func TestProxySVGAndJSON(t *testing.T) {
	dir := t.TempDir()
	rep := sampleProxyReport()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	svg := mustRead(t, filepath.Join(dir, "proxy.svg"))
	text := checkSVG(t, svg)
	for _, want := range []string{"switchyard Proxy benchmark", ProxyUserspace, ProxyKernel, ProxyDocker, ProxyKernelVeth,
		"UDP rr p50", "UDP rr p99", "PSS for the mappings", "1000 mappings", "40.0", "1000", "n/a"} {
		if !strings.Contains(text, want) {
			t.Errorf("svg text lacks %q", want)
		}
	}
	if n := strings.Count(svg, `<rect width="470"`); n != 7 {
		t.Errorf("%d panels, want 7", n)
	}
	var back Report
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "proxy.json"))), &back); err != nil {
		t.Fatal(err)
	}
	if !back.UDPRR || back.Rows[0].UDPRR.P50US != 50 || *back.Rows[0].Ratios.UDPP50 != 0.5 || back.Memory == nil ||
		back.Memory.DockerProxyStarted != 500 || back.Markdown() != rep.Markdown() {
		t.Fatalf("round trip lost data: %+v", back)
	}
	js, _ := json.Marshal(sampleReport())
	for _, field := range []string{"udp_rr", "udp_p50", "memory", "lost"} {
		if strings.Contains(string(js), `"`+field+`"`) {
			t.Errorf("switch report has %q", field)
		}
	}
}

func TestProxyMemoryFigures(t *testing.T) {
	m := &ProxyMemory{Mappings: 1000, SwitchyardKB: 2048, DockerProxyStarted: 1000, DockerProxyKB: 1024 * 1000}
	if v, ok := m.SwitchyardMiB(); !ok || v != 2 {
		t.Errorf("switchyard %v %v", v, ok)
	}
	if v, ok := m.DockerProxyMiB(); !ok || v != 1000 || m.Extrapolated() {
		t.Errorf("docker-proxy %v %v", v, ok)
	}
	m.DockerProxyStarted, m.DockerProxyKB = 250, 1024*250
	if v, ok := m.DockerProxyMiB(); !ok || v != 1000 || !m.Extrapolated() {
		t.Errorf("extrapolated docker-proxy %v %v", v, ok)
	}
	var none *ProxyMemory
	if _, ok := none.SwitchyardMiB(); ok {
		t.Error("nil memory has a figure")
	}
	if _, ok := (&ProxyMemory{Mappings: 3}).DockerProxyMiB(); ok {
		t.Error("no processes has a figure")
	}
}

func TestParsePSS(t *testing.T) {
	rollup := "55d0c0a0e000-7ffd5a3f9000 ---p 00000000 00:00 0                          [rollup]\n" +
		"Rss:                3712 kB\nPss:                1234 kB\nPss_Dirty:           900 kB\nShared_Clean:       2000 kB\n"
	if kb, err := parsePSS(rollup); err != nil || kb != 1234 {
		t.Errorf("parsePSS = %d, %v", kb, err)
	}
	for _, bad := range []string{"", "Rss: 1 kB\n", "Pss: x kB\n", "Pss: -5 kB\n"} {
		if _, err := parsePSS(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if kb, err := readPSS(os.Getpid()); err != nil || kb <= 0 {
		t.Logf("readPSS of self: %d, %v (no smaps_rollup here?)", kb, err)
	}
}

func TestProxyPortsAndSpecs(t *testing.T) {
	pp := portsFor(rrPort + 2)
	if pp.rr != 7003 || pp.udp != 7103 || pp.iperf != iperfPort || pp.hostRR != 20201 || pp.hostUDP != 20202 || pp.hostIperf != 20203 {
		t.Fatalf("ports %+v", pp)
	}
	client := Endpoint{Netns: "c", IP: ProxyClientIP}
	server := Endpoint{Netns: "s", IP: netip.MustParseAddr("10.210.0.11")}
	p := pp.pair(client, server, 1500)
	for port, want := range map[int]string{7003: "10.211.0.1:20201", 7103: "10.211.0.1:20202", 5201: "10.211.0.1:20203", 9: "10.211.0.1:9"} {
		if got := p.dial(port); got != want {
			t.Errorf("dial(%d) = %s, want %s", port, got, want)
		}
	}
	if got := (Pair{Server: server}).dial(7001); got != "10.210.0.11:7001" {
		t.Errorf("plain pair dials %s", got)
	}
	if got := strings.Join(dockerProxyArgv("/usr/sbin/docker-proxy", "udp", 20202, server.IP, 7103), " "); got !=
		"/usr/sbin/docker-proxy -proto udp -host-ip 0.0.0.0 -host-port 20202 -container-ip 10.210.0.11 -container-port 7103" {
		t.Errorf("docker-proxy argv %s", got)
	}
	for _, c := range []struct{ got, want string }{
		{publishSpec(20201, 7003, "tcp"), "20201:server:7003"},
		{publishSpec(20202, 7103, "udp"), "20202:server:7103/udp"},
		{proxyHostIPSpec(9, 9, ""), "10.211.0.1:9:server:9"},
		{rangeSpec(40000, 1000), "40000-40999:server:40000-40999"},
		{rangeSpec(40000, 1), "40000:server:40000"},
	} {
		if c.got != c.want {
			t.Errorf("spec %q, want %q", c.got, c.want)
		}
	}
	var lines []string
	for _, a := range nftDNATArgv("nft", "sybench1", ProxyHostIP, netip.MustParseAddr("10.212.0.2"), pp) {
		lines = append(lines, strings.Join(a, " "))
	}
	want := []string{
		"nft add table ip sybench1",
		"nft add chain ip sybench1 prerouting { type nat hook prerouting priority dstnat ; policy accept ; }",
		"nft add rule ip sybench1 prerouting ip daddr 10.211.0.1 tcp dport 20201 dnat to 10.212.0.2:7003",
		"nft add rule ip sybench1 prerouting ip daddr 10.211.0.1 tcp dport 20203 dnat to 10.212.0.2:5201",
		"nft add rule ip sybench1 prerouting ip daddr 10.211.0.1 udp dport 20202 dnat to 10.212.0.2:7103",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("nft commands\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, pfx := range []netip.Prefix{ProxyClientPrefix, ProxyDirectPrefix} {
		if pfx.Overlaps(proxySubnet) || pfx.Overlaps(NATRemotePrefix) || pfx.Overlaps(captureSubnet) {
			t.Errorf("%s overlaps another benchmark's addresses", pfx)
		}
	}
}

func TestFreePortRange(t *testing.T) {
	busyLn, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyLn.Close()
	freeLn, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	busy, free := busyLn.Addr().(*net.TCPAddr).Port, freeLn.Addr().(*net.TCPAddr).Port
	freeLn.Close()
	if got, err := freePortRange(1, []int{busy, free}); err != nil || got != free {
		t.Errorf("freePortRange(1, [%d busy, %d free]) = %d, %v", busy, free, got, err)
	}
	if _, err := freePortRange(1, []int{busy, 70000}); err == nil {
		t.Error("no free range reported free")
	}
}

func TestStaleTables(t *testing.T) {
	list := "table ip switchyard\ntable ip sybench100\ntable ip sybench200\ntable ip sybenchx\ntable ip sybench300\n"
	alive := func(pid int) bool { return pid == 200 }
	if got := strings.Join(staleTables(list, 300, alive), ","); got != "sybench100" {
		t.Errorf("stale tables %q", got)
	}
}

func TestProxyConfigDefaults(t *testing.T) {
	cfg, err := ProxyConfig{Binary: "/bin/true"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OutDir != "bench-out" || cfg.Duration != 5*time.Second || cfg.MTU != 1500 || cfg.Mappings != 1000 ||
		cfg.StartLimit != time.Minute || cfg.DockerProxy != DefaultDockerProxy || cfg.Iperf != "iperf3" || cfg.Nft != "nft" {
		t.Fatalf("defaults %+v", cfg)
	}
	if cfg, _ := (ProxyConfig{Binary: "x", Mappings: -1}).withDefaults(); cfg.Mappings != -1 {
		t.Errorf("negative mappings (skip) became %d", cfg.Mappings)
	}
	for _, bad := range []ProxyConfig{{}, {Binary: "x", MTU: 100}, {Binary: "x", Mappings: 30000}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestStartStatus(t *testing.T) {
	if err := parseStartStatus("0\n"); err != nil {
		t.Error(err)
	}
	if err := parseStartStatus("1\nfailed to listen on 0.0.0.0:80: address already in use"); err == nil ||
		err.Error() != "start failed: failed to listen on 0.0.0.0:80: address already in use" {
		t.Errorf("failure report: %v", err)
	}
	for _, bad := range []string{"", "0", "2\n", "ok"} {
		if err := parseStartStatus(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestStartDockerProxyFake runs shell stand-ins for docker-proxy: one that
// reports success on fd 3 and waits, one that reports a failure, one that
// exits without a word.
func TestStartDockerProxyFake(t *testing.T) {
	if err := checkPlatform(); err != nil {
		nstest.Skip(t, err)
	}
	log := testLogger(t)
	ctx := context.Background()
	p, err := startDockerProxy(ctx, log, "fake ok", []string{"sh", "-c", `printf '0\n' >&3; exec sleep 30`})
	if err != nil {
		t.Fatal(err)
	}
	if p.exited() {
		t.Fatal("fake proxy exited")
	}
	stopAll(log, []*proc{p})
	if !p.exited() {
		t.Fatal("fake proxy still running")
	}
	_, err = startDockerProxy(ctx, log, "fake fail", []string{"sh", "-c", `printf '1\nno port for you' >&3; exit 1`})
	if err == nil || !strings.Contains(err.Error(), "start failed: no port for you") {
		t.Errorf("failing proxy: %v", err)
	}
	_, err = startDockerProxy(ctx, log, "fake mute", []string{"sh", "-c", `exit 1`})
	if err == nil || !strings.Contains(err.Error(), "start-up pipe") {
		t.Errorf("mute proxy: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = startDockerProxy(cctx, log, "fake slow", []string{"sh", "-c", `exec sleep 30`})
	if err == nil || time.Since(start) > 8*time.Second {
		t.Errorf("slow proxy: %v after %s", err, time.Since(start))
	}
}
