package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProxyTopology is the proxy benchmark's set-up: a switchyard daemon with
// one network and a server endpoint, a client namespace joined to the
// host by a veth pair, and a "direct" server namespace on a second veth
// pair for kernel DNAT without switchyard. Setup also publishes a
// placeholder kernel-path port, so that the network's host port (through
// which the host reaches the endpoints) exists before any variant runs.
type ProxyTopology struct {
	SwitchyardTopology
	nft string
	// server is the switchyard endpoint, client the external client and
	// direct the veth server; valid after Setup.
	server, client, direct Endpoint
	// hostPort is the network's host port (interface and address).
	hostPort     string
	hostPortAddr netip.Addr
}

// NewProxyTopology returns the proxy benchmark's topology, driven by the
// switchyard binary at path binary; nft is the nft program.
func NewProxyTopology(binary, nft string, opts TopologyOptions) (*ProxyTopology, error) {
	if binary == "" {
		return nil, fmt.Errorf("proxy topology: no binary")
	}
	b, err := newTopoBase("px", opts)
	if err != nil {
		return nil, err
	}
	if nft == "" {
		nft = "nft"
	}
	return &ProxyTopology{SwitchyardTopology: SwitchyardTopology{topoBase: b, binary: binary}, nft: nft}, nil
}

// Name implements Topology.
func (t *ProxyTopology) Name() string { return "proxy" }

// proxyLinkName names this process's root-side veth of a role: "sybc"
// (client) or "sybd" (direct) and the process id.
func proxyLinkName(prefix string) string { return prefix + strconv.Itoa(os.Getpid()) }

// nftTable is the nftables table this process's kernel-dnat-veth rules
// live in.
func nftTable() string { return remoteLinkPrefix + strconv.Itoa(os.Getpid()) }

// Setup implements Topology: the returned pair is the client and the
// switchyard endpoint, without a published port.
func (t *ProxyTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	for _, p := range []netip.Prefix{ProxyClientPrefix, ProxyDirectPrefix, t.subnet} {
		if err := checkPrefixFree(p); err != nil {
			return Pair{}, fmt.Errorf("%w, which the proxy benchmark needs (another bench proxy running?)", err)
		}
	}
	t.cleanStaleTables(ctx)
	serverNs, err := t.newNetns(ctx, "server")
	if err != nil {
		return Pair{}, err
	}
	if t.client, err = t.addVethNetns(ctx, vethNetns{role: "client", link: proxyLinkName("sybc"), prefix: ProxyClientPrefix,
		hostIP: ProxyHostIP, nsIP: ProxyClientIP, mtu: mtu}); err != nil {
		return Pair{}, err
	}
	if t.direct, err = t.addVethNetns(ctx, vethNetns{role: "direct", link: proxyLinkName("sybd"), prefix: ProxyDirectPrefix,
		hostIP: proxyDirectHostIP, nsIP: proxyDirectIP, mtu: mtu}); err != nil {
		return Pair{}, err
	}
	daemon, err := t.startDaemon(ctx)
	if err != nil {
		return Pair{}, err
	}
	m := strconv.Itoa(mtu)
	if err := t.cli(ctx, "network", "create", proxyNetwork, "--subnet", t.subnet.String(), "--mtu", m); err != nil {
		return Pair{}, err
	}
	t.server = Endpoint{Netns: serverNs, IP: t.host(11)}
	if err := t.cli(ctx, "attach", proxyNetwork, serverNs, "--name", proxyEndpoint, "--ip", t.server.IP.String(), "--mtu", m); err != nil {
		return Pair{}, err
	}
	if err := waitAddr(ctx, t.server, "eth0", dynamicTimeout); err != nil {
		return Pair{}, fmt.Errorf("after attach: %w", err)
	}
	// The placeholder: discard (9) on the client-side host address only.
	if err := t.cli(ctx, "publish", proxyNetwork, proxyHostIPSpec(9, 9, ""), "--path", "kernel"); err != nil {
		return Pair{}, fmt.Errorf("kernel path placeholder: %w", err)
	}
	if t.hostPort, t.hostPortAddr, err = waitHostPort(ctx, t.subnet, dynamicTimeout); err != nil {
		return Pair{}, err
	}
	if daemon.exited() {
		return Pair{}, fmt.Errorf("switchyard daemon exited: %v: %s", daemon.err, oneLine(daemon.output()))
	}
	if err := prepareClient(ctx, t.client.Netns); err != nil {
		return Pair{}, err
	}
	p := Pair{Client: t.client, Server: t.server, MTU: mtu}
	t.log.Debug("proxy topology ready", "mtu", mtu, "client", p.Client, "server", p.Server, "direct", t.direct,
		"host_port", t.hostPort, "host_port_addr", t.hostPortAddr)
	return p, nil
}

// proxyHostIPSpec is a publish spec of one port on ProxyHostIP only
// (proto "" or "tcp" for TCP).
func proxyHostIPSpec(hostPort, port int, proto string) string {
	return ProxyHostIP.String() + ":" + publishSpec(hostPort, port, proto)
}

// publishSpec is the spec of one published port: HOSTPORT:ENDPOINT:PORT,
// with /udp for UDP.
func publishSpec(hostPort, port int, proto string) string {
	s := fmt.Sprintf("%d:%s:%d", hostPort, proxyEndpoint, port)
	if proto == "udp" {
		s += "/udp"
	}
	return s
}

// rangeSpec is the spec of n consecutive ports from base on both sides.
func rangeSpec(base, n int) string {
	if n == 1 {
		return publishSpec(base, base, "")
	}
	return fmt.Sprintf("%d-%d:%s:%d-%d", base, base+n-1, proxyEndpoint, base, base+n-1)
}

// waitHostPort polls the caller's interfaces until one has an address in
// subnet (a switchyard network's host port) and returns its name and
// address.
func waitHostPort(ctx context.Context, subnet netip.Prefix, timeout time.Duration) (string, netip.Addr, error) {
	deadline := time.Now().Add(timeout)
	for {
		ifs, err := net.Interfaces()
		if err != nil {
			return "", netip.Addr{}, fmt.Errorf("list interfaces: %w", err)
		}
		for _, ifc := range ifs {
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(ipn.IP); ok && subnet.Contains(ip.Unmap()) && ifc.Flags&net.FlagUp != 0 {
						return ifc.Name, ip.Unmap(), nil
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return "", netip.Addr{}, fmt.Errorf("no host interface with an address in %s after %s (the kernel path's host port)", subnet, timeout)
		}
		select {
		case <-ctx.Done():
			return "", netip.Addr{}, fmt.Errorf("waiting for the host port: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cleanStaleTables deletes nftables tables left by harness processes that
// no longer exist.
func (t *ProxyTopology) cleanStaleTables(ctx context.Context) {
	out, err := runCmd(ctx, 10*time.Second, t.nft, "list", "tables", "ip")
	if err != nil {
		return
	}
	for _, name := range staleTables(string(out), os.Getpid(), processExists) {
		t.log.Info("removing stale nftables table", "table", name)
		if _, err := runCmd(ctx, 10*time.Second, t.nft, "delete", "table", "ip", name); err != nil {
			t.log.Warn("stale table", "err", err)
		}
	}
}

// staleTables picks from `nft list tables` output the harness's tables
// (remoteLinkPrefix and a process id) whose process is gone.
func staleTables(list string, self int, exists func(int) bool) []string {
	var stale []string
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "table" {
			continue
		}
		rest, ok := strings.CutPrefix(f[2], remoteLinkPrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(rest)
		if err != nil || pid == self || exists(pid) {
			continue
		}
		stale = append(stale, f[2])
	}
	return stale
}

// proxyBench runs the proxy benchmark's variants and memory measurement
// on a ProxyTopology.
type proxyBench struct {
	topo *ProxyTopology
	cfg  ProxyConfig
}

// proxyPorts are the server ports of a variant and the host ports they
// are published on.
type proxyPorts struct {
	rr, udp, iperf             int
	hostRR, hostUDP, hostIperf int
}

// portsFor returns the ports of the variant whose rr port is rr.
func portsFor(rr int) proxyPorts {
	base := proxyHostPortBase + 100*(rr-rrPort)
	return proxyPorts{rr: rr, udp: rr + udpPortOffset, iperf: iperfPort,
		hostRR: base + 1, hostUDP: base + 2, hostIperf: base + 3}
}

// pair returns the pair that reaches server through the host ports.
func (pp proxyPorts) pair(client, server Endpoint, mtu int) Pair {
	return Pair{Client: client, Server: server, MTU: mtu, Dial: func(port int) netip.AddrPort {
		switch port {
		case pp.rr:
			return netip.AddrPortFrom(ProxyHostIP, uint16(pp.hostRR))
		case pp.udp:
			return netip.AddrPortFrom(ProxyHostIP, uint16(pp.hostUDP))
		case pp.iperf:
			return netip.AddrPortFrom(ProxyHostIP, uint16(pp.hostIperf))
		}
		return netip.AddrPortFrom(ProxyHostIP, uint16(port))
	}}
}

// mappings lists the variant's (host port, server port, protocol).
func (pp proxyPorts) mappings() [][3]string {
	return [][3]string{
		{strconv.Itoa(pp.hostRR), strconv.Itoa(pp.rr), "tcp"},
		{strconv.Itoa(pp.hostIperf), strconv.Itoa(pp.iperf), "tcp"},
		{strconv.Itoa(pp.hostUDP), strconv.Itoa(pp.udp), "udp"},
	}
}

// publishVariant publishes the variant's ports with switchyard by path
// (userspace or kernel) and unpublishes them afterwards.
func (pb *proxyBench) publishVariant(name, path string) variant {
	t := pb.topo
	return variant{name: name, start: func(ctx context.Context, shared Pair, port int, log *slog.Logger) (Pair, func(*Row), error) {
		pp := portsFor(port)
		var done []string
		unpublish := func(row *Row) {
			for _, spec := range done {
				if err := t.cli(context.Background(), "unpublish", proxyNetwork, spec); err != nil {
					log.Warn("unpublish", "err", err)
					if row != nil {
						row.Errors = append(row.Errors, "unpublish: "+oneLine(err.Error()))
					}
				}
			}
		}
		for _, m := range pp.mappings() {
			hp, _ := strconv.Atoi(m[0])
			p, _ := strconv.Atoi(m[1])
			spec := publishSpec(hp, p, m[2])
			if err := t.cli(ctx, "publish", proxyNetwork, spec, "--path", path); err != nil {
				unpublish(nil)
				return Pair{}, nil, err
			}
			done = append(done, spec)
		}
		return pp.pair(shared.Client, shared.Server, shared.MTU), unpublish, nil
	}}
}

// dockerProxyArgv is docker-proxy's command line for one port, as
// dockerd starts it.
func dockerProxyArgv(path, proto string, hostPort int, container netip.Addr, port int) []string {
	return []string{path, "-proto", proto, "-host-ip", "0.0.0.0", "-host-port", strconv.Itoa(hostPort),
		"-container-ip", container.String(), "-container-port", strconv.Itoa(port)}
}

// startDockerProxy starts docker-proxy with fd 3 a pipe, as dockerd does,
// and waits for its start-up report: "0\n" on success, "1\n" and the
// error otherwise.
func startDockerProxy(ctx context.Context, log *slog.Logger, label string, argv []string) (*proc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%s: pipe: %w", label, err)
	}
	defer r.Close()
	p, err := startProc(log, procSpec{Label: label, Argv: argv, ExtraFiles: []*os.File{w}})
	w.Close()
	if err != nil {
		return nil, err
	}
	status, err := readStartStatus(ctx, r, dynamicTimeout)
	if err == nil {
		err = parseStartStatus(status)
	}
	if err != nil {
		p.stop(log, syscall.SIGINT, 5*time.Second)
		return nil, fmt.Errorf("%s: %w: %s", label, err, oneLine(p.output()))
	}
	return p, nil
}

// readStartStatus reads what a proxy writes to its start-up pipe: up to
// EOF or 4 KiB, whichever comes first, within timeout.
func readStartStatus(ctx context.Context, r *os.File, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := r.SetReadDeadline(deadline); err != nil {
		return "", err
	}
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var buf []byte
	tmp := make([]byte, 4096)
	for len(buf) < len(tmp) {
		n, err := r.Read(tmp)
		buf = append(buf, tmp[:n]...)
		// dockerd reads once: "0\n" arrives in one write.
		if string(buf) == "0\n" {
			break
		}
		if err != nil {
			if len(buf) > 0 && strings.HasPrefix(string(buf), "1\n") {
				break
			}
			if ctx.Err() != nil {
				return string(buf), ctx.Err()
			}
			return string(buf), fmt.Errorf("start-up pipe: %w (read %q)", err, buf)
		}
	}
	return string(buf), nil
}

// parseStartStatus checks a proxy's start-up report.
func parseStartStatus(s string) error {
	switch {
	case s == "0\n":
		return nil
	case strings.HasPrefix(s, "1\n"):
		return fmt.Errorf("start failed: %s", strings.TrimSpace(s[2:]))
	}
	return fmt.Errorf("unexpected start-up report %q", s)
}

// stopAll stops processes: SIGINT to all first, then the usual grace and
// SIGKILL for each.
func stopAll(log *slog.Logger, procs []*proc) {
	for _, p := range procs {
		if !p.exited() {
			_ = killGroup(p.cmd.Process.Pid, syscall.SIGINT)
		}
	}
	for _, p := range procs {
		p.stop(log, syscall.SIGINT, 5*time.Second)
	}
}

// dockerProxyVariant runs one docker-proxy per port of the variant.
func (pb *proxyBench) dockerProxyVariant() variant {
	t := pb.topo
	return variant{name: ProxyDocker, start: func(ctx context.Context, shared Pair, port int, log *slog.Logger) (Pair, func(*Row), error) {
		pp := portsFor(port)
		var procs []*proc
		for _, m := range pp.mappings() {
			hp, _ := strconv.Atoi(m[0])
			p, _ := strconv.Atoi(m[1])
			dp, err := startDockerProxy(ctx, log, "docker-proxy "+m[2]+" "+m[0],
				dockerProxyArgv(pb.cfg.DockerProxy, m[2], hp, t.server.IP, p))
			if err != nil {
				stopAll(log, procs)
				return Pair{}, nil, err
			}
			procs = append(procs, dp)
		}
		stop := func(row *Row) {
			for _, p := range procs {
				if p.exited() {
					row.Errors = append(row.Errors, fmt.Sprintf("%s exited during the measurement: %v: %s", p.label, p.err, oneLine(p.output())))
				}
			}
			stopAll(log, procs)
		}
		return pp.pair(shared.Client, shared.Server, shared.MTU), stop, nil
	}}
}

// vethVariant DNATs the variant's host ports to the direct namespace with
// rules in a table of the harness's own.
func (pb *proxyBench) vethVariant() variant {
	t := pb.topo
	return variant{name: ProxyKernelVeth, start: func(ctx context.Context, shared Pair, port int, log *slog.Logger) (Pair, func(*Row), error) {
		pp := portsFor(port)
		table := nftTable()
		del := func() error {
			_, err := runCmd(context.Background(), 10*time.Second, t.nft, "delete", "table", "ip", table)
			return err
		}
		for _, argv := range nftDNATArgv(t.nft, table, ProxyHostIP, t.direct.IP, pp) {
			if _, err := runCmd(ctx, 10*time.Second, argv...); err != nil {
				_ = del()
				return Pair{}, nil, fmt.Errorf("kernel DNAT rules: %w", err)
			}
		}
		stop := func(row *Row) {
			if err := del(); err != nil {
				row.Errors = append(row.Errors, "delete nftables table: "+oneLine(err.Error()))
			}
		}
		return pp.pair(shared.Client, t.direct, shared.MTU), stop, nil
	}}
}

// nftDNATArgv are the nft commands that create table with a prerouting
// DNAT chain sending dst's host ports to backend's server ports.
func nftDNATArgv(nft, table string, dst, backend netip.Addr, pp proxyPorts) [][]string {
	argv := [][]string{
		{nft, "add", "table", "ip", table},
		{nft, "add", "chain", "ip", table, "prerouting", "{ type nat hook prerouting priority dstnat ; policy accept ; }"},
	}
	for _, m := range pp.mappings() {
		argv = append(argv, []string{nft, "add", "rule", "ip", table, "prerouting", "ip", "daddr", dst.String(),
			m[2], "dport", m[0], "dnat", "to", backend.String() + ":" + m[1]})
	}
	return argv
}

// measureMemory publishes pb.cfg.Mappings ports with switchyard and reads
// the daemon's PSS, then starts as many docker-proxy processes (within
// StartLimit) and sums theirs.
func (pb *proxyBench) measureMemory(ctx context.Context, _ Pair, rep *Report, log *slog.Logger) {
	t, n := pb.topo, pb.cfg.Mappings
	mem := &ProxyMemory{Mappings: n}
	rep.Memory = mem
	fail := func(what string, err error) {
		log.Warn("memory measurement failed", "what", what, "err", err)
		mem.Errors = append(mem.Errors, what+": "+oneLine(err.Error()))
	}
	log.Info("measuring memory", "mappings", n)
	base, err := freePortRange(n, memoryPortBases)
	if err != nil {
		fail("ports", err)
		return
	}
	mem.PortBase = base
	pid := t.daemon.cmd.Process.Pid
	if mem.SwitchyardBaseKB, err = readPSS(pid); err != nil {
		fail("switchyard", err)
		return
	}
	spec := rangeSpec(base, n)
	start := time.Now()
	if err := t.cli(ctx, "publish", proxyNetwork, spec, "--path", "userspace"); err != nil {
		fail("switchyard publish", err)
	} else {
		mem.PublishSeconds = time.Since(start).Seconds()
		// Let the listeners' goroutines settle.
		time.Sleep(time.Second)
		if mem.SwitchyardKB, err = readPSS(pid); err != nil {
			fail("switchyard", err)
		}
		if err := t.cli(context.Background(), "unpublish", proxyNetwork, spec); err != nil {
			fail("switchyard unpublish", err)
		}
	}
	log.Info("switchyard memory", "pss_kb", mem.SwitchyardKB, "before_kb", mem.SwitchyardBaseKB, "publish_s", mem.PublishSeconds)

	var procs []*proc
	defer func() { stopAll(log, procs) }()
	start = time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if time.Since(start) > pb.cfg.StartLimit {
			break
		}
		p, err := startDockerProxy(ctx, log, "docker-proxy "+strconv.Itoa(base+i),
			dockerProxyArgv(pb.cfg.DockerProxy, "tcp", base+i, t.server.IP, base+i))
		if err != nil {
			fail("docker-proxy", err)
			break
		}
		procs = append(procs, p)
	}
	mem.DockerProxyStartSeconds = time.Since(start).Seconds()
	for _, p := range procs {
		kb, err := readPSS(p.cmd.Process.Pid)
		if err != nil {
			fail("docker-proxy", err)
			return
		}
		mem.DockerProxyKB += kb
	}
	mem.DockerProxyStarted = len(procs)
	log.Info("docker-proxy memory", "processes", len(procs), "pss_kb", mem.DockerProxyKB, "start_s", mem.DockerProxyStartSeconds)
}

// freePortRange returns the first of bases from which n TCP ports are
// free on every host address (a listener can be bound to each): other
// programs on the host, or their TIME_WAIT connections, may hold some.
func freePortRange(n int, bases []int) (int, error) {
	for _, base := range bases {
		if base+n-1 > 65535 {
			continue
		}
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(p))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no range of %d free TCP ports from any of %v", n, bases)
}

// memoryAfterTraffic reads the daemon's PSS after the traffic runs.
func (pb *proxyBench) memoryAfterTraffic(_ context.Context, _ Pair, rep *Report, log *slog.Logger) {
	if rep.Memory == nil || pb.topo.daemon == nil {
		return
	}
	kb, err := readPSS(pb.topo.daemon.cmd.Process.Pid)
	if err != nil {
		log.Warn("daemon memory after the traffic", "err", err)
		return
	}
	rep.Memory.SwitchyardAfterTrafficKB = kb
}

// readPSS returns a process's proportional set size in KiB.
func readPSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, err
	}
	kb, err := parsePSS(string(b))
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	return kb, nil
}

// parsePSS reads the "Pss:" line of /proc/PID/smaps_rollup, in KiB.
func parsePSS(rollup string) (int64, error) {
	for _, line := range strings.Split(rollup, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "Pss:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb < 0 {
				return 0, fmt.Errorf("smaps_rollup: bad Pss line %q", line)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("smaps_rollup: no Pss line")
}
