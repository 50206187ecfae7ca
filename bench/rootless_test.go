package bench

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// sampleRootlessReport has the three topologies at 1500 and 65520 in both
// directions; pasta's namespace → host bulk at 65520 failed, and the
// switchyard port forward at 1500 failed in setup.
func sampleRootlessReport() *Report {
	row := func(topo string, mtu int, gbps, rev, p50, p99, cps float64) Row {
		r := Row{Topology: topo, MTU: mtu, Metrics: Metrics{
			Bulk: &BulkResult{Gbps: gbps},
			RR:   &RRResult{P50US: p50, P99US: p99},
			CRR:  &CRRResult{ConnsPerSec: cps},
		}}
		if rev > 0 {
			r.BulkRev = &BulkResult{Gbps: rev}
		}
		return r
	}
	rep := &Report{
		Benchmark: "rootless", Title: "Rootless benchmark", Reference: RootlessReference,
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Host:    HostInfo{Kernel: "6.1", CPUs: 2, GoVersion: "go1.x", LoadAvg: "0.10 0.20 0.30"}, DurationS: 5, MessageSize: 64,
		MTUs: []int{1500, 65520}, BulkReverse: true, TargetMTUs: rootlessTargetMTUs([]int{1500, 65520}),
		Notes: rootlessNotes(true), Caption: rootlessCaption,
		Rows: []Row{
			row(TopologySwitchyard, 1500, 4, 5, 60, 120, 3000),
			row(TopologySlirp, 1500, 0.8, 1, 100, 300, 2000),
			row(TopologyPasta, 1500, 0.5, 2, 90, 250, 3500),
			row(TopologySwitchyard, 65520, 12, 11, 55, 110, 3100),
			row(TopologySlirp, 65520, 3, 5, 95, 280, 2100),
			{Topology: TopologyPasta, MTU: 65520, Metrics: Metrics{
				BulkRev: &BulkResult{Gbps: 11},
				RR:      &RRResult{P50US: 90, P99US: 240},
				CRR:     &CRRResult{ConnsPerSec: 3600},
				Errors:  []string{"bulk: iperf3: timeout"},
			}},
		},
		PortForward: &PortForward{Caption: rootlessForwardCaption, Reference: RootlessForwardReference, MTUs: []int{1500, 65520},
			Rows: []Row{
				{Topology: TopologySwitchyard, MTU: 1500, Metrics: Metrics{Errors: []string{"setup: add_hostfwd 21001:7001: boom"}}},
				row(TopologySlirp, 1500, 1, 0, 150, 400, 1500),
				row(TopologyPasta, 1500, 10, 0, 150, 250, 4000),
				row(TopologySwitchyard, 65520, 7.9, 0, 120, 240, 5000),
				row(TopologySlirp, 65520, 2, 0, 140, 240, 2500),
				row(TopologyPasta, 65520, 10, 0, 150, 250, 4000),
			}},
	}
	rep.ComputeRatios()
	rep.Targets = rep.EvaluateRootlessTargets()
	return rep
}

func TestRootlessRatios(t *testing.T) {
	rep := sampleRootlessReport()
	sy := rep.Find(TopologySwitchyard, 1500)
	if *sy.Ratios.Bulk != 5 || *sy.Ratios.BulkRev != 5 || *sy.Ratios.P50 != 0.6 || *sy.Ratios.ConnRate != 1.5 {
		t.Fatalf("namespace → host ratios against slirp4netns: %+v", sy.Ratios)
	}
	fwd := rep.PortForward.report()
	if r := fwd.Find(TopologySwitchyard, 65520).Ratios; *r.Bulk != 0.79 || *r.P50 != 0.8 || *r.ConnRate != 1.25 {
		t.Fatalf("port-forward ratios against pasta: bulk %v p50 %v conn %v", *r.Bulk, *r.P50, *r.ConnRate)
	}
	if r := fwd.Find(TopologyPasta, 1500).Ratios; *r.Bulk != 1 {
		t.Fatalf("pasta is the port-forward reference: %+v", r)
	}
	if r := fwd.Find(TopologySwitchyard, 1500).Ratios; r.Bulk != nil || r.P50 != nil {
		t.Fatalf("a failed row has no ratios: %+v", r)
	}
	if r := rep.Find(TopologyPasta, 65520).Ratios; r.Bulk != nil || *r.BulkRev != 2.2 {
		t.Fatalf("missing bulk must give a nil ratio: %+v", r)
	}
}

func TestRootlessTargets(t *testing.T) {
	rep := sampleRootlessReport()
	want := []struct{ status, goal, detail string }{
		{TargetMet, "switchyard namespace → host bulk ≥ 5× slirp4netns (MTU 1500)",
			"switchyard 4.00 Gb/s vs slirp4netns 0.80 Gb/s = 5.00×"},
		{TargetMet, "switchyard namespace → host bulk ≥ 1× slirp4netns (MTU 65520)",
			"switchyard 12.0 Gb/s vs slirp4netns 3.00 Gb/s = 4.00×"},
		{TargetUnknown, "switchyard port forward bulk ≥ 0.8× pasta (MTU 1500)", "no switchyard figure"},
		{TargetNotMet, "switchyard port forward bulk ≥ 0.8× pasta (MTU 65520)",
			"switchyard 7.90 Gb/s vs pasta 10.0 Gb/s = 0.79×"},
	}
	if len(rep.Targets) != len(want) {
		t.Fatalf("targets %+v", rep.Targets)
	}
	for i, w := range want {
		if g := rep.Targets[i]; g.Status != w.status || g.Goal != w.goal || g.Detail != w.detail {
			t.Errorf("target %d: %+v, want %+v", i, g, w)
		}
	}

	rep.Find(TopologySwitchyard, 1500).Bulk.Gbps = 3.9
	rep.Find(TopologySlirp, 65520).Bulk = nil
	rep.Targets = rep.EvaluateRootlessTargets()
	if s := rep.Targets[0].Status; s != TargetNotMet {
		t.Errorf("4.875× at 1500: %s", s)
	}
	if g := rep.Targets[1]; g.Status != TargetUnknown || g.Detail != "no slirp4netns figure" {
		t.Errorf("no slirp4netns bulk: %+v", g)
	}

	only := &Report{TargetMTUs: rootlessTargetMTUs([]int{9000}),
		Rows: []Row{{Topology: TopologySlirp, MTU: 9000}},
		PortForward: &PortForward{Reference: RootlessForwardReference, MTUs: []int{9000}, Rows: []Row{
			{Topology: TopologySwitchyard, MTU: 9000, Metrics: Metrics{Bulk: &BulkResult{Gbps: 8}}},
			{Topology: TopologyPasta, MTU: 9000, Metrics: Metrics{Bulk: &BulkResult{Gbps: 10}}},
		}}}
	tg := only.EvaluateRootlessTargets()
	if len(tg) != 1 || tg[0].Status != TargetMet || tg[0].Goal != "switchyard port forward bulk ≥ 0.8× pasta (MTU 9000)" {
		t.Errorf("targets at MTU 9000 only: %+v", tg)
	}
	none := &Report{TargetMTUs: rootlessTargetMTUs(nil), Rows: []Row{{Topology: TopologySlirp, MTU: 9000}}}
	if none.EvaluateRootlessTargets() != nil {
		t.Error("targets evaluated without their MTUs")
	}
	if got := none.TargetsMarkdown(); got != "Targets not evaluated: MTUs 1500 and 65520 were not measured.\n" {
		t.Errorf("TargetsMarkdown %q", got)
	}
}

func TestRootlessTargetMTUs(t *testing.T) {
	for _, c := range []struct{ in, want []int }{
		{nil, []int{1500, 65520}},
		{[]int{65520, 1500}, []int{1500, 65520}},
		{[]int{9000}, []int{1500, 9000, 65520}},
	} {
		if got := rootlessTargetMTUs(c.in); !slices.Equal(got, c.want) {
			t.Errorf("rootlessTargetMTUs(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestRootlessMarkdown(t *testing.T) {
	rep := sampleRootlessReport()
	tm, md := rep.TableMarkdown(), rep.Markdown()
	if !strings.HasPrefix(tm, rootlessCaption+"\n\n| topology | MTU | bulk Gb/s | bulk rev Gb/s |") {
		t.Errorf("table markdown does not start with the caption and the table:\n%s", tm)
	}
	if !strings.HasPrefix(md, tm) {
		t.Errorf("Markdown does not start with TableMarkdown")
	}
	for _, want := range []string{
		"| switchyard | 1500 | 4.00 | 5.00 | 60.0 | 120 | 3000 | 5.00× | 5.00× | 0.60× | 1.50× | ok |",
		"| pasta | 65520 | — | 11.0 | 90.0 | 240 | 3600 | — | 2.20× | 0.95× | 1.71× | 1 error(s) [1] |",
		"- [1] pasta, MTU 65520: bulk: iperf3: timeout",
		"\n\n" + rootlessForwardCaption + "\n\n| topology | MTU | bulk Gb/s | rr p50 µs | rr p99 µs | conn/s | bulk × | p50 × | conn/s × | status |\n",
		"| switchyard | 65520 | 7.90 | 120 | 240 | 5000 | 0.79× | 0.80× | 1.25× | ok |",
		"| switchyard | 1500 | — | — | — | — | — | — | — | 1 error(s) [1] |",
		"- [1] switchyard, MTU 1500: setup: add_hostfwd 21001:7001: boom",
		"Targets (MTU 1500 and 65520):\n\n",
		"- **not met** — switchyard port forward bulk ≥ 0.8× pasta (MTU 65520): switchyard 7.90 Gb/s vs pasta 10.0 Gb/s = 0.79×",
		"\nRootless benchmark, 2025-01-02 03:04 UTC, kernel 6.1",
		"Ratios are against slirp4netns at the same MTU",
		"Port-forward ratios are against pasta.",
		"`unshare --user --map-root-user --net sleep N`",
		"host 10.213.0.1, server 10.213.0.2",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// The port-forward table comes before the targets.
	if i, j := strings.Index(tm, rootlessForwardCaption), strings.Index(tm, "Targets ("); i < 0 || j < i {
		t.Errorf("port-forward table not before the targets:\n%s", tm)
	}
}

func TestRootlessSVGAndJSON(t *testing.T) {
	dir := t.TempDir()
	rep := sampleRootlessReport()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	svg := mustRead(t, filepath.Join(dir, "rootless.svg"))
	text := checkSVG(t, svg)
	for _, want := range []string{"switchyard Rootless benchmark", "pasta", "slirp4netns", "MTU 65520",
		"TCP bulk, server → client", "port forward: TCP bulk, Gb/s", "port forward: conn/s", "7.90", "n/a"} {
		if !strings.Contains(text, want) {
			t.Errorf("svg text lacks %q", want)
		}
	}
	// bulk, bulk rev, p50, p99, conn/s; then the port forward's four.
	if n := strings.Count(svg, `<rect width="470"`); n != 9 {
		t.Errorf("%d panels, want 9", n)
	}
	if !strings.Contains(svg, `fill="#f28e2b"><title>pasta, MTU 1500`) {
		t.Error("pasta bars lack their colour")
	}
	var back Report
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "rootless.json"))), &back); err != nil {
		t.Fatal(err)
	}
	pf := back.PortForward
	if pf == nil || pf.Reference != TopologyPasta || len(pf.Rows) != 6 || *pf.Rows[3].Ratios.Bulk != 0.79 ||
		back.Caption != rootlessCaption || len(back.Targets) != 4 || len(back.Rows) != 6 {
		t.Fatalf("round trip lost data: %+v", back)
	}
	if md := mustRead(t, filepath.Join(dir, "rootless.md")); md != rep.Markdown() {
		t.Error("rootless.md differs from Markdown()")
	}
	// Reports without a port-forward section keep their JSON shape.
	js, _ := json.Marshal(sampleReport())
	if strings.Contains(string(js), "port_forward") || strings.Contains(string(js), "caption") {
		t.Errorf("switch report JSON has rootless fields: %s", js)
	}
}

func TestRootlessConfigDefaults(t *testing.T) {
	cfg, err := RootlessConfig{Binary: "/bin/sy"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OutDir != "bench-out" || cfg.Duration != 5*time.Second || !slices.Equal(cfg.MTUs, []int{1500, 65520}) ||
		!slices.Equal(cfg.Topologies, []string{TopologySwitchyard, TopologySlirp, TopologyPasta}) ||
		cfg.Iperf != "iperf3" || cfg.Slirp4netns != "slirp4netns" || cfg.Pasta != "pasta" {
		t.Fatalf("defaults: %+v", cfg)
	}
	if got := cfg.needs(); !slices.Equal(got, []string{"ip", "sysctl", "unshare", "iperf3", "/bin/sy", "nsenter", "slirp4netns", "pasta"}) {
		t.Errorf("needs %v", got)
	}
	for name, want := range map[string][]string{
		TopologySwitchyard: {"/bin/sy", "slirp4netns"}, TopologySlirp: {"slirp4netns"}, TopologyPasta: {"pasta"},
	} {
		if got := cfg.helperProgram(name); !slices.Equal(got, want) {
			t.Errorf("helperProgram(%s) = %v, want %v", name, got, want)
		}
	}
	only, _ := RootlessConfig{Binary: "sy", Topologies: []string{TopologyPasta}}.withDefaults()
	if got := only.needs(); slices.Contains(got, "slirp4netns") || slices.Contains(got, "nsenter") || !slices.Contains(got, "pasta") {
		t.Errorf("needs of pasta alone: %v", got)
	}
	for _, bad := range []RootlessConfig{{}, {Binary: "x", MTUs: []int{65521}}, {Binary: "x", MTUs: []int{500}},
		{Binary: "x", Topologies: []string{"vpnkit"}}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestRootlessPorts(t *testing.T) {
	p := rootlessPortsFor(2)
	if p.rr != 7003 || p.hostRR != 21201 || p.hostIperf != 21203 {
		t.Fatalf("ports %+v", p)
	}
	if got := p.forwards(); !slices.Equal(got, [][2]int{{21201, 7003}, {21203, 5201}}) {
		t.Errorf("forwards %v", got)
	}
	for port, want := range map[int]string{7003: "127.0.0.1:21201", 5201: "127.0.0.1:21203", 9: "127.0.0.1:9"} {
		if got := p.dial(port).String(); got != want {
			t.Errorf("dial(%d) = %s, want %s", port, got, want)
		}
	}
	// The servers' ports stay out of the namespace's ephemeral range.
	lo, _ := strconv.Atoi(strings.Fields(rootlessPortRange)[0])
	if last := rootlessPortsFor(99); last.rr >= lo || iperfPort >= lo {
		t.Errorf("server ports %d and %d reach into the ephemeral range %s", last.rr, iperfPort, rootlessPortRange)
	}
	pair := Pair{Dial: p.dial}
	if got := pair.dial(iperfPort); got != "127.0.0.1:21203" {
		t.Errorf("pair dial %s", got)
	}
}

func TestRootlessArgv(t *testing.T) {
	got := strings.Join(slirpDropInArgv([]string{"/bin/sy", "slirp4netns"}, 1500, "/tmp/x/api.sock", 42), " ")
	if want := "/bin/sy slirp4netns --configure --mtu=1500 --disable-host-loopback -r 3 --api-socket /tmp/x/api.sock 42 tap0"; got != want {
		t.Errorf("drop-in argv %q, want %q", got, want)
	}
	got = strings.Join(pastaArgv([]string{"pasta"}, 65520, 42, [][2]int{{21001, 7001}, {21003, 5201}}, true), " ")
	want := "pasta --runas 0 --foreground --quiet --ipv4-only --config-net --ns-ifname tap0 --mtu 65520 " +
		"--address 10.0.2.100 --netmask 24 --gateway 10.0.2.2 --no-map-gw " +
		"--tcp-ports 127.0.0.1/21001:7001 --tcp-ports 127.0.0.1/21003:5201 " +
		"--udp-ports none --tcp-ns none --udp-ns none 42"
	if got != want {
		t.Errorf("pasta argv\n%q, want\n%q", got, want)
	}
	got = strings.Join(pastaArgv([]string{"pasta"}, 1500, 7, nil, false), " ")
	if strings.Contains(got, "--runas") || !strings.Contains(got, "--tcp-ports none --udp-ports none") || !strings.HasSuffix(got, " 7") {
		t.Errorf("pasta argv without forwards, not root: %q", got)
	}
}

func TestHostfwdRequestAndReply(t *testing.T) {
	got := string(hostfwdRequest(21001, 7001))
	want := `{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":21001,"guest_port":7001}}`
	if got != want {
		t.Errorf("request %s, want %s", got, want)
	}
	if id, err := parseHostfwdReply([]byte(`{"return":{"id":3}}`)); err != nil || id != 3 {
		t.Errorf("ok reply: %d, %v", id, err)
	}
	for reply, msg := range map[string]string{
		`{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed"}}`: "api error: bad request: add_hostfwd: slirp_add_hostfwd failed",
		`{"return":{}}`: "has no id",
		`nope`:          "api reply",
	} {
		if _, err := parseHostfwdReply([]byte(reply)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("reply %s: %v, want %q", reply, err, msg)
		}
	}
}

// TestAddHostfwdFake talks to a fake API socket that answers like
// slirp4netns: one write, then close.
func TestAddHostfwdFake(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 2)
	go func() {
		for i := 0; i < 2; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			got <- string(buf[:n])
			if i == 0 {
				c.Write([]byte(`{"return":{"id":1}}`))
			} else {
				c.Write([]byte(`{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed"}}`))
			}
			c.Close()
		}
	}()
	ctx := context.Background()
	if id, err := addHostfwd(ctx, sock, 21001, 7001); err != nil || id != 1 {
		t.Fatalf("addHostfwd: %d, %v", id, err)
	}
	if req := <-got; req != string(hostfwdRequest(21001, 7001)) {
		t.Errorf("request %q", req)
	}
	if _, err := addHostfwd(ctx, sock, 21001, 7001); err == nil || !strings.Contains(err.Error(), "slirp_add_hostfwd failed") {
		t.Errorf("error reply: %v", err)
	}
	if _, err := addHostfwd(ctx, filepath.Join(t.TempDir(), "none.sock"), 1, 2); err == nil {
		t.Error("no socket: no error")
	}
}

func TestTCPListening(t *testing.T) {
	// /proc/net/tcp on little-endian machines: 127.0.0.1:21001 listening,
	// 127.0.0.1:21003 only connected, 0.0.0.0:22 listening.
	content := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:5209 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:520B 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
`
	lo := netip.MustParseAddr("127.0.0.1")
	le := netip.AddrPortFrom(lo, 21001)
	if !tcpListening(content, le) {
		if b, err := os.ReadFile("/proc/self/net/tcp"); err == nil && strings.Contains(string(b), "0100007F") {
			t.Error("127.0.0.1:21001 not found listening")
		} else {
			nstest.Skip(t, "not a little-endian /proc/net/tcp")
		}
	}
	if tcpListening(content, netip.AddrPortFrom(lo, 21003)) {
		t.Error("an established socket counts as listening")
	}
	if tcpListening(content, netip.AddrPortFrom(lo, 22)) {
		t.Error("0.0.0.0:22 counts as 127.0.0.1:22")
	}
	if !tcpListening(content, netip.AddrPortFrom(netip.IPv4Unspecified(), 22)) {
		t.Error("0.0.0.0:22 not found")
	}

	// And for real, on this machine's loopback.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		nstest.Skip(t, err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	if err := waitTCPListening(context.Background(), addr, 2*time.Second); err != nil {
		t.Error(err)
	}
	ln.Close()
	if err := waitTCPListening(context.Background(), addr, 100*time.Millisecond); err == nil {
		t.Error("closed listener still found")
	}
}

func TestReadReadyFD(t *testing.T) {
	pipe := func() (*os.File, *os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return r, w
	}
	ctx := context.Background()
	r, w := pipe()
	w.Write([]byte("1"))
	if err := readReadyFD(ctx, r, time.Second); err != nil {
		t.Errorf("ready: %v", err)
	}
	r, w = pipe()
	w.Write([]byte("0"))
	w.Close()
	if err := readReadyFD(ctx, r, time.Second); err == nil || !strings.Contains(err.Error(), `closed without "1"`) {
		t.Errorf("EOF: %v", err)
	}
	r, _ = pipe()
	if err := readReadyFD(ctx, r, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Errorf("timeout: %v", err)
	}
	r, _ = pipe()
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := readReadyFD(cctx, r, 5*time.Second); err == nil || err != context.Canceled {
		t.Errorf("cancel: %v", err)
	}
}

func TestHelperOutputAndInNetns(t *testing.T) {
	p := &proc{stdout: newTailBuffer(""), stderr: newTailBuffer("")}
	p.stderr.Write([]byte("Failed to send 74 bytes to syslog\nCouldn't open user namespace /proc/1/ns/user: Permission denied\n"))
	if got := helperOutput(p); got != "Couldn't open user namespace /proc/1/ns/user: Permission denied" {
		t.Errorf("helperOutput %q", got)
	}
	if got := inNetns("", "iperf3", "-c", "x"); !slices.Equal(got, []string{"iperf3", "-c", "x"}) {
		t.Errorf("inNetns in the caller's namespace: %v", got)
	}
	if got := inNetns("ns", "true"); !slices.Equal(got, []string{"ip", "netns", "exec", "ns", "true"}) {
		t.Errorf("inNetns: %v", got)
	}
}
