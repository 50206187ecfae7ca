package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rootlessPorts are the ports of one rootless run: the rr/crr server's
// port (in the remote namespace for namespace → host, in the rootless
// namespace for the port forward; iperf3 uses iperfPort in both) and the
// host ports forwarded to the rootless namespace's servers.
type rootlessPorts struct {
	rr, hostRR, hostIperf int
}

// rootlessPortsFor returns the ports of run number run (0, 1, ...).
func rootlessPortsFor(run int) rootlessPorts {
	base := rootlessHostPortBase + 100*run
	return rootlessPorts{rr: rrPort + run, hostRR: base + 1, hostIperf: base + 3}
}

// forwards lists the (host port, namespace port) pairs to forward.
func (p rootlessPorts) forwards() [][2]int {
	return [][2]int{{p.hostRR, p.rr}, {p.hostIperf, iperfPort}}
}

// dial maps a server port of the rootless namespace to the forwarded
// address on the host's loopback.
func (p rootlessPorts) dial(port int) netip.AddrPort {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, f := range p.forwards() {
		if f[1] == port {
			return netip.AddrPortFrom(lo, uint16(f[0]))
		}
	}
	return netip.AddrPortFrom(lo, uint16(port))
}

// RootlessTopology is a namespace made the rootless way — `unshare --user
// --map-root-user --net sleep N`, addressed by PID — and connected to the
// host by a helper in the caller's namespace: switchyard's slirp4netns
// drop-in, slirp4netns or pasta (see the benchmark's notes for their
// command lines). Setup returns the namespace → host pair (the client in
// the namespace, the server in a remote namespace reachable only from the
// host); ForwardPair the port-forward pair (the client in the caller's
// namespace dialing 127.0.0.1, the servers in the rootless namespace).
type RootlessTopology struct {
	topoBase
	name   string
	prog   []string
	ports  rootlessPorts
	helper *proc
	fwd    Pair
}

// newRootlessTopology returns a rootless topology; name is TopologySwitchyard,
// TopologySlirp or TopologyPasta, prog the helper's command (e.g.
// [switchyard slirp4netns]) and ports those of the run.
func newRootlessTopology(name string, prog []string, ports rootlessPorts, log *slog.Logger) (*RootlessTopology, error) {
	tags := map[string]string{TopologySwitchyard: "rlsy", TopologySlirp: "rlsl", TopologyPasta: "rlpa"}
	tag, ok := tags[name]
	if !ok {
		return nil, fmt.Errorf("unknown rootless topology %q", name)
	}
	b, err := newTopoBase(tag, TopologyOptions{Subnet: rootlessCIDR, Log: log})
	if err != nil {
		return nil, err
	}
	return &RootlessTopology{topoBase: b, name: name, prog: prog, ports: ports}, nil
}

// Name implements Topology.
func (t *RootlessTopology) Name() string { return t.name }

// ForwardPair returns the port-forward pair; valid after Setup.
func (t *RootlessTopology) ForwardPair() Pair { return t.fwd }

// rootlessLinkName is the root-side veth of this process's remote
// namespace.
func rootlessLinkName() string { return "sybr" + strconv.Itoa(os.Getpid()) }

// Setup implements Topology.
func (t *RootlessTopology) Setup(ctx context.Context, mtu int) (Pair, error) {
	if err := checkPrefixFree(RootlessRemotePrefix); err != nil {
		return Pair{}, fmt.Errorf("%w, which the rootless benchmark's remote namespace needs (another bench rootless running?)", err)
	}
	server, err := t.addVethNetns(ctx, vethNetns{role: "remote", link: rootlessLinkName(), prefix: RootlessRemotePrefix,
		hostIP: RootlessRemoteHostIP, nsIP: RootlessRemoteIP, mtu: mtu})
	if err != nil {
		return Pair{}, err
	}
	ns, pid, err := t.newRootlessNetns(ctx, "ns")
	if err != nil {
		return Pair{}, err
	}
	dir, err := os.MkdirTemp("", "sybench-rl-")
	if err != nil {
		return Pair{}, fmt.Errorf("api socket dir: %w", err)
	}
	t.onTeardown(func() { _ = os.RemoveAll(dir) })
	api := filepath.Join(dir, "api.sock")
	if t.name == TopologyPasta {
		t.helper, err = startProc(t.log, procSpec{Label: t.name,
			Argv: pastaArgv(t.prog, mtu, pid, t.ports.forwards(), os.Geteuid() == 0)})
		if err == nil {
			t.stopProcOnTeardown(t.helper, 10*time.Second)
		}
	} else {
		t.helper, err = t.startWithReadyFD(ctx, slirpDropInArgv(t.prog, mtu, api, pid))
	}
	if err != nil {
		return Pair{}, err
	}
	// Stop waiting as soon as the helper dies.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.helper.done:
			cancel()
		case <-wctx.Done():
		}
	}()
	client := Endpoint{Netns: ns, IP: rootlessGuestIP}
	if err := waitAddr(wctx, client, rootlessTap, dynamicTimeout); err != nil {
		return Pair{}, t.helperErr(err)
	}
	if t.name != TopologyPasta {
		for _, f := range t.ports.forwards() {
			if _, err := addHostfwd(wctx, api, f[0], f[1]); err != nil {
				return Pair{}, t.helperErr(fmt.Errorf("add_hostfwd %d:%d: %w", f[0], f[1], err))
			}
		}
	}
	for _, f := range t.ports.forwards() {
		if err := waitTCPListening(wctx, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(f[0])), dynamicTimeout); err != nil {
			return Pair{}, t.helperErr(err)
		}
	}
	if err := prepareRootlessClient(ctx, ns); err != nil {
		return Pair{}, err
	}
	p := Pair{Client: client, Server: server, MTU: mtu}
	t.fwd = Pair{
		Client: Endpoint{IP: netip.MustParseAddr("127.0.0.1")},
		Server: Endpoint{Netns: ns, IP: netip.IPv4Unspecified()},
		MTU:    mtu,
		Dial:   t.ports.dial,
	}
	t.log.Debug("rootless namespace ready", "mtu", mtu, "pid", pid, "netns", ns, "client", p.Client, "server", p.Server,
		"forwards", t.ports.forwards())
	return p, nil
}

// rootlessPortRange is the rootless namespace's ephemeral port range:
// wide for the connect/request/close run, but above the servers' ports
// (iperfPort, rrPort...), which the port-forward measurement binds in the
// same namespace after the namespace → host run's connections, and which
// the helpers' own connections to the servers must not take either.
const rootlessPortRange = "10000 65000"

// prepareRootlessClient tunes the rootless namespace as prepareClient
// does, with rootlessPortRange.
func prepareRootlessClient(ctx context.Context, ns string) error {
	if err := setSysctl(ctx, ns, "net.ipv4.ip_local_port_range", rootlessPortRange); err != nil {
		return err
	}
	return setSysctl(ctx, ns, "net.ipv4.tcp_tw_reuse", "1")
}

// helperErr adds the helper's fate to err when it has exited.
func (t *RootlessTopology) helperErr(err error) error {
	if t.helper == nil || !t.helper.exited() {
		return err
	}
	msg := fmt.Sprintf("%s exited: %v", t.name, t.helper.err)
	if out := oneLine(helperOutput(t.helper)); out != "" {
		msg += ": " + out
	}
	// The wait that the helper's exit cut short says nothing more.
	if errors.Is(err, context.Canceled) {
		return errors.New(msg)
	}
	return fmt.Errorf("%s (%w)", msg, err)
}

// checkHelper notes in row that the helper died during its measurement.
func (t *RootlessTopology) checkHelper(row *Row) {
	if t.helper != nil && t.helper.exited() && !slices.ContainsFunc(row.Errors, func(e string) bool {
		return strings.HasPrefix(e, t.name+" exited")
	}) {
		row.Errors = append(row.Errors, fmt.Sprintf("%s exited during the measurement: %v: %s",
			t.name, t.helper.err, oneLine(helperOutput(t.helper))))
	}
}

// helperOutput is a helper's output without pasta's complaints about the
// missing system logger.
func helperOutput(p *proc) string {
	var keep []string
	for _, line := range strings.Split(p.output(), "\n") {
		if !strings.HasPrefix(line, "Failed to send ") || !strings.HasSuffix(line, " to syslog") {
			keep = append(keep, line)
		}
	}
	return tail(strings.Join(keep, "\n"), 600)
}

// newRootlessNetns starts `unshare --user --map-root-user --net sleep N`,
// waits until the sleep runs in its new namespaces and binds its network
// namespace to a name (`ip netns attach`) for the peers. It returns the
// name and the process id. Teardown stops the process, kills whatever
// else was left in the namespace (with a warning) and removes the name.
func (t *RootlessTopology) newRootlessNetns(ctx context.Context, role string) (string, int, error) {
	p, err := startProc(t.log, procSpec{Label: "rootless namespace",
		Argv: []string{"unshare", "--user", "--map-root-user", "--net", "sleep", strconv.Itoa(rootlessNetnsLifetime)}})
	if err != nil {
		return "", 0, err
	}
	pid := p.cmd.Process.Pid
	name := nsName(t.tag + "-" + role)
	attached := false
	t.onTeardown(func() {
		if attached {
			killNetnsLeftovers(t.log, name, pid)
		}
		p.stop(t.log, sigTerm, 5*time.Second)
		if attached {
			if err := delNetns(name); err != nil {
				t.log.Warn("teardown", "err", err)
			}
		}
	})
	if err := waitUnshared(ctx, p, dynamicTimeout); err != nil {
		return "", 0, err
	}
	if _, err := runCmd(ctx, 10*time.Second, "ip", "netns", "attach", name, strconv.Itoa(pid)); err != nil {
		_ = delNetns(name)
		return "", 0, fmt.Errorf("bind rootless namespace: %w", err)
	}
	attached = true
	if _, err := runCmd(ctx, 10*time.Second, "ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		return "", 0, fmt.Errorf("rootless namespace: loopback up: %w", err)
	}
	t.log.Debug("rootless namespace", "pid", pid, "netns", name)
	return name, pid, nil
}

// rootlessNetnsLifetime bounds the namespace's sleep, in seconds, should
// the harness be unable to stop it.
const rootlessNetnsLifetime = 3600

// waitUnshared waits until p (unshare) has exec'd its sleep, which then
// runs in a network namespace other than the caller's.
func waitUnshared(ctx context.Context, p *proc, timeout time.Duration) error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("own network namespace: %w", err)
	}
	dir := "/proc/" + strconv.Itoa(p.cmd.Process.Pid)
	deadline := time.Now().Add(timeout)
	for {
		comm, _ := os.ReadFile(dir + "/comm")
		ns, _ := os.Readlink(dir + "/ns/net")
		if strings.TrimSpace(string(comm)) == "sleep" && ns != "" && ns != self {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("unshare exited: %v: %s", p.err, oneLine(p.output()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("unshare: no namespace after %s: %s", timeout, oneLine(p.output()))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for unshare: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// killNetnsLeftovers SIGKILLs the processes of the named namespace other
// than keep: helpers' agents that outlived their helper.
func killNetnsLeftovers(log *slog.Logger, name string, keep int) {
	out, err := runCmd(context.Background(), 10*time.Second, "ip", "netns", "pids", name)
	if err != nil {
		log.Warn("list namespace processes", "err", err)
		return
	}
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid == keep {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + f + "/comm")
		log.Warn("process left in the rootless namespace, killing it", "netns", name, "pid", pid, "comm", strings.TrimSpace(string(comm)))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// startWithReadyFD starts a slirp4netns-style helper with fd 3 the write
// end of a pipe (its -r 3) and waits for the "1" it writes once the
// namespace is configured.
func (t *RootlessTopology) startWithReadyFD(ctx context.Context, argv []string) (*proc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%s: pipe: %w", t.name, err)
	}
	defer r.Close()
	p, err := startProc(t.log, procSpec{Label: t.name, Argv: argv, ExtraFiles: []*os.File{w}})
	w.Close()
	if err != nil {
		return nil, err
	}
	t.stopProcOnTeardown(p, 10*time.Second)
	if err := readReadyFD(ctx, r, dynamicTimeout); err != nil {
		// Let the output of a helper that failed arrive.
		select {
		case <-p.done:
		case <-time.After(time.Second):
		}
		return nil, fmt.Errorf("%s: %w: %s", t.name, err, oneLine(helperOutput(p)))
	}
	return p, nil
}

// readReadyFD waits for "1" on r (slirp4netns's ready fd), for EOF (the
// writer exited or closed it without), ctx's end or timeout.
func readReadyFD(ctx context.Context, r *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := r.SetReadDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if strings.Contains(string(got), "1") {
			return nil
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, io.EOF):
			return fmt.Errorf("ready fd closed without \"1\" (read %q)", got)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("not ready after %s", timeout)
		default:
			return fmt.Errorf("ready fd: %w", err)
		}
	}
}

// slirpDropInArgv is the slirp4netns command line (prog is slirp4netns or
// `switchyard slirp4netns`) for the namespace of pid, as RootlessKit and
// Podman start it: configure tap0, refuse the host's loopback, report
// readiness on fd 3 and serve the API on api.
func slirpDropInArgv(prog []string, mtu int, api string, pid int) []string {
	return append(slices.Clone(prog), "--configure", "--mtu="+strconv.Itoa(mtu), "--disable-host-loopback",
		"-r", "3", "--api-socket", api, strconv.Itoa(pid), rootlessTap)
}

// pastaArgv is pasta's command line (prog is pasta) attaching to the
// namespaces of pid with slirp4netns's addresses, the host's loopback
// refused (--no-map-gw), IPv4 only, and fwds (host port, namespace port)
// forwarded from 127.0.0.1; no automatic forwarding in either direction.
// asRoot adds --runas 0: pasta started as root otherwise drops to nobody,
// who cannot enter a namespace owned by root.
func pastaArgv(prog []string, mtu, pid int, fwds [][2]int, asRoot bool) []string {
	argv := slices.Clone(prog)
	if asRoot {
		argv = append(argv, "--runas", "0")
	}
	argv = append(argv, "--foreground", "--quiet", "--ipv4-only", "--config-net", "--ns-ifname", rootlessTap,
		"--mtu", strconv.Itoa(mtu), "--address", rootlessGuestIP.String(), "--netmask", strconv.Itoa(rootlessCIDR.Bits()),
		"--gateway", rootlessGateway.String(), "--no-map-gw")
	if len(fwds) == 0 {
		argv = append(argv, "--tcp-ports", "none")
	}
	for _, f := range fwds {
		argv = append(argv, "--tcp-ports", fmt.Sprintf("127.0.0.1/%d:%d", f[0], f[1]))
	}
	return append(argv, "--udp-ports", "none", "--tcp-ns", "none", "--udp-ns", "none", strconv.Itoa(pid))
}

// hostfwdRequest is slirp4netns's API request forwarding TCP hostPort on
// 127.0.0.1 to guestPort of the namespace's address.
func hostfwdRequest(hostPort, guestPort int) []byte {
	type args struct {
		Proto     string `json:"proto"`
		HostAddr  string `json:"host_addr"`
		HostPort  int    `json:"host_port"`
		GuestPort int    `json:"guest_port"`
	}
	req := struct {
		Execute   string `json:"execute"`
		Arguments args   `json:"arguments"`
	}{"add_hostfwd", args{"tcp", "127.0.0.1", hostPort, guestPort}}
	b, _ := json.Marshal(req)
	return b
}

// parseHostfwdReply reads slirp4netns's answer to add_hostfwd: the new
// forward's id, or the error it describes.
func parseHostfwdReply(b []byte) (int, error) {
	var r struct {
		Return *struct {
			ID *int `json:"id"`
		} `json:"return"`
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("api reply %q: %w", b, err)
	}
	switch {
	case r.Error != nil:
		return 0, fmt.Errorf("api error: %s", r.Error.Desc)
	case r.Return == nil || r.Return.ID == nil:
		return 0, fmt.Errorf("api reply %q has no id", b)
	}
	return *r.Return.ID, nil
}

// addHostfwd asks the slirp4netns API at sock to forward TCP hostPort on
// 127.0.0.1 to guestPort and returns the forward's id.
func addHostfwd(ctx context.Context, sock string, hostPort, guestPort int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, dynamicTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(hostfwdRequest(hostPort, guestPort)); err != nil {
		return 0, err
	}
	// The answer is one JSON object (slirp4netns then closes).
	var raw json.RawMessage
	if err := json.NewDecoder(c).Decode(&raw); err != nil {
		return 0, fmt.Errorf("api reply: %w", err)
	}
	return parseHostfwdReply(raw)
}

// waitTCPListening polls the caller's /proc/net/tcp until a socket
// listens on addr (IPv4).
func waitTCPListening(ctx context.Context, addr netip.AddrPort, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile("/proc/self/net/tcp")
		if err != nil {
			return err
		}
		if tcpListening(string(b), addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", addr, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a listener on %s: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tcpListening reports whether /proc/net/tcp content lists a socket in
// LISTEN state on addr.
func tcpListening(procNetTCP string, addr netip.AddrPort) bool {
	a4 := addr.Addr().Unmap().As4()
	want := fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(a4[:]), addr.Port())
	for _, line := range strings.Split(procNetTCP, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" {
			return true
		}
	}
	return false
}

// The rootless topology.
var _ Topology = (*RootlessTopology)(nil)
