package nsjoin_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/rootless/nsjoin"
	"github.com/switchyard/switchyard/tap"
)

var (
	gwIP    = netip.MustParseAddr("10.0.2.2")
	guestIP = netip.MustParseAddr("10.0.2.100")
	gwMAC   = net.HardwareAddr{0x02, 0x50, 0, 0, 0, 0x02}
	// echoPort is where the responder echoes UDP datagrams sent to gwIP.
	echoPort = uint16(9999)
)

// requireTools skips t unless root with the namespace tools is running it.
func requireTools(t *testing.T) {
	t.Helper()
	nstest.RequireNetAdmin(t)
	for _, tool := range []string{"nsenter", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s (util-linux): %v", tool, err)
		}
	}
}

// startUserns starts `unshare --user --map-root-user --net sleep 60` (as
// cred when not nil) and returns the PID once it is inside its new network
// namespace; the process is killed when t ends.
func startUserns(t testing.TB, cred *syscall.Credential) int {
	t.Helper()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--net", "sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	pid := cmd.Process.Pid
	// unshare has not necessarily unshared yet when Start returns.
	self, _ := os.Readlink("/proc/self/ns/net")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			nstest.Skipf(t, "cannot create a user namespace: unshare: %s", out.String())
		default:
		}
		if ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); err == nil && ns != self {
			if strings.HasSuffix(mustRead(t, "/proc/"+strconv.Itoa(pid)+"/comm"), "sleep\n") {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not enter its namespaces")
		}
	}
}

func mustRead(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inNS runs argv inside the namespaces of pid like a user would, with
// nsenter -t PID -U -n --preserve-credentials (as cred when not nil).
func inNS(t testing.TB, cred *syscall.Credential, pid int, argv ...string) (string, error) {
	t.Helper()
	args := append([]string{"-t", strconv.Itoa(pid), "-U", "-n", "--preserve-credentials"}, argv...)
	cmd := exec.Command("nsenter", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mustJoin joins and closes the agent when t ends.
func mustJoin(t testing.TB, target nsjoin.Target, tc nsjoin.TapConfig) *nsjoin.Agent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := nsjoin.Join(ctx, target, tc, nil)
	if err != nil {
		t.Fatalf("Join(%v, %+v): %v", target, tc, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// mustDevice wraps the agent's TAP as a port, closed when t ends (and after
// 30 s at the latest, so that a lost frame cannot hang a test).
func mustDevice(t testing.TB, a *nsjoin.Agent) *tap.Device {
	t.Helper()
	d, err := a.Device()
	if err != nil {
		t.Fatal(err)
	}
	wd := time.AfterFunc(30*time.Second, func() { d.Close() })
	t.Cleanup(func() { wd.Stop(); d.Close() })
	return d
}

// responder plays the gateway 10.0.2.2 on the other side of a TAP: it
// answers ARP for it, ICMP echo requests to it, and echoes UDP datagrams
// sent to its port echoPort.
type responder struct {
	arps, pings, udps atomic.Int64
	done              chan struct{}
}

// respond runs a responder on d until d is closed.
func respond(d *tap.Device) *responder {
	r := &responder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		fs := make([]*port.Frame, 8)
		for i := range fs {
			fs[i] = port.Get(d.Info().MaxFrame)
		}
		for {
			n, err := d.ReadFrames(fs)
			if err != nil {
				return
			}
			for _, f := range fs[:n] {
				if reply := r.answer(f.Data()); reply != nil {
					out := port.Get(len(reply))
					out.SetData(reply)
					d.WriteFrames([]*port.Frame{out})
					port.Put(out)
				}
			}
		}
	}()
	return r
}

// answer returns the reply to frame, or nil.
func (r *responder) answer(frame []byte) []byte {
	if len(frame) < 42 {
		return nil
	}
	gw := gwIP.As4()
	switch binary.BigEndian.Uint16(frame[12:]) {
	case 0x0806: // ARP
		if binary.BigEndian.Uint16(frame[20:]) != 1 || !bytes.Equal(frame[38:42], gw[:]) {
			return nil
		}
		r.arps.Add(1)
		b := make([]byte, 42)
		copy(b[0:6], frame[6:12])
		copy(b[6:12], gwMAC)
		copy(b[12:22], frame[12:22]) // type, htype, ptype, hlen, plen
		binary.BigEndian.PutUint16(b[20:], 2)
		copy(b[22:28], gwMAC)
		copy(b[28:32], gw[:])
		copy(b[32:42], frame[22:32])
		return b
	case 0x0800: // IPv4
		ihl := int(frame[14]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(frame[16:]))
		if frame[14]>>4 != 4 || ihl < 20 || 14+total > len(frame) || !bytes.Equal(frame[30:34], gw[:]) {
			return nil
		}
		b := slices.Clone(frame[:14+total])
		copy(b[0:6], frame[6:12])
		copy(b[6:12], gwMAC)
		copy(b[26:30], frame[30:34]) // swapping the addresses keeps the
		copy(b[30:34], frame[26:30]) // header checksum valid
		l4 := b[14+ihl:]
		switch {
		case frame[23] == 1 && len(l4) >= 8 && l4[0] == 8: // ICMP echo request
			r.pings.Add(1)
			l4[0] = 0
			l4[2], l4[3] = 0, 0
			binary.BigEndian.PutUint16(l4[2:], checksum(l4))
			return b
		case frame[23] == 17 && len(l4) >= 8 && binary.BigEndian.Uint16(l4[2:]) == echoPort:
			r.udps.Add(1)
			copy(l4[0:2], frame[14+ihl+2:14+ihl+4])
			copy(l4[2:4], frame[14+ihl:14+ihl+2])
			l4[6], l4[7] = 0, 0 // no UDP checksum
			return b
		}
	}
	return nil
}

// checksum is the Internet checksum of b.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// udpEcho sends a datagram to the responder from inside the namespace (which
// makes the kernel resolve 10.0.2.2 over the TAP first) and checks that it
// comes back.
func udpEcho(t testing.TB, a *nsjoin.Agent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialUDP(ctx, netip.AddrPortFrom(gwIP, echoPort))
	if err != nil {
		t.Fatalf("DialUDP: %v", err)
	}
	defer c.Close()
	if la, ok := c.LocalAddr().(*net.UDPAddr); !ok || la.AddrPort().Addr().Unmap() != guestIP {
		t.Errorf("UDP local address %v, want %v (inside the namespace)", c.LocalAddr(), guestIP)
	}
	buf := make([]byte, 64)
	for i := 0; ; i++ {
		msg := "hello " + strconv.Itoa(i)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatalf("UDP write: %v", err)
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) == msg {
			return
		}
		if i == 10 {
			t.Fatalf("no UDP echo through the TAP: %v", err)
		}
	}
}

// children lists the PIDs of this process's children.
func children(t testing.TB) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(b)
		fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fs) > 1 && fs[1] == strconv.Itoa(me) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// gone reports whether pid no longer exists (reaped).
func gone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}
