package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// captureRun starts `switchyard capture` with args, runs traffic, then
// stops the capture with SIGINT and returns its stdout and stderr.
func captureRun(t *testing.T, sock string, traffic func(), args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"capture", sock}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // a failed traffic() must not leave it running
	// "listening on" is printed once the daemon has registered the
	// capture: traffic from then on is seen.
	errr := bufio.NewReader(errPipe)
	first, err := errr.ReadString('\n')
	if !strings.HasPrefix(first, "listening on network ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("capture's first line %q (%v); want \"listening on network ...\"", first, err)
	}
	traffic()
	settle(outFile(args))
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(errr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s%s", err, first, rest)
	}
	return out.String(), first + string(rest)
}

// outFile is the -w argument of a capture command line, if any.
func outFile(args []string) string {
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == "-w" && args[i+1] != "-" {
			return args[i+1]
		}
	}
	return ""
}

// settle waits for the capture's output to stop growing for 300 ms (up to
// 10 s): the frames of the traffic have then reached the client. Line
// output is written by another goroutine, so only a file is watched; for
// lines a fixed pause serves.
func settle(file string) {
	if file == "" {
		time.Sleep(500 * time.Millisecond)
		return
	}
	last, still := int64(-1), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		fi, err := os.Stat(file)
		if err != nil {
			continue
		}
		if fi.Size() != last {
			last, still = fi.Size(), time.Now()
		} else if time.Since(still) >= 300*time.Millisecond {
			return
		}
	}
}

// captureTwoEndpoints attaches two namespaces to the default network,
// captures a ping and a short TCP exchange between them into a pcapng
// file with the extra capture flags, and returns the file and the two
// endpoint names.
func captureTwoEndpoints(t *testing.T, extra ...string) (file, nameA, nameB string) {
	t.Helper()
	sock, _ := startUp(t)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	for _, ns := range []string{a, b} {
		if _, stderr, code := sy(t, "attach", "default", ns, "--name", ns[len(ns)-4:], sock); code != 0 {
			t.Fatal(stderr)
		}
	}
	nameA, nameB = a[len(a)-4:], b[len(b)-4:]
	file = filepath.Join(t.TempDir(), "cap.pcapng")
	traffic := func() {
		if out, err := nstest.Exec(a, "ping", "-c", "1", "-W", "2", "10.90.0.3"); err != nil {
			t.Fatalf("ping: %v %s", err, out)
		}
		go nstest.Exec(b, "timeout", "3", "busybox", "nc", "-l", "-p", "7777")
		time.Sleep(200 * time.Millisecond)
		nstest.Exec(a, "sh", "-c", "echo hello | timeout 2 busybox nc 10.90.0.3 7777")
	}
	_, stderr := captureRun(t, sock, traffic, append([]string{"-w", file}, extra...)...)
	if !strings.Contains(stderr, "packets captured") || !strings.Contains(stderr, "0 packets dropped") {
		t.Fatalf("capture summary: %q", stderr)
	}
	return file, nameA, nameB
}

// TestCaptureShowsPortsInOrder: with --both a frame is recorded entering
// at a and leaving at b, in that order, with its direction.
func TestCaptureShowsPortsInOrder(t *testing.T) {
	file, nameA, nameB := captureTwoEndpoints(t, "--both")

	// gopacket: the echo request enters at a and leaves at b, in order;
	// the TCP SYN likewise.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		intf, _ := r.Interface(ci.InterfaceIndex)
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && ic.TypeCode.Type() == layers.ICMPv4TypeEchoRequest {
			seen = append(seen, "echo@"+intf.Name)
		}
		if tc, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tc.SYN && !tc.ACK {
			seen = append(seen, "syn@"+intf.Name)
		}
	}
	want := "echo@" + nameA + " echo@" + nameB + " syn@" + nameA + " syn@" + nameB
	if strings.Join(seen, " ") != want {
		t.Fatalf("frames on interfaces: %v\nwant %s", seen, want)
	}

	// tshark opens the file, sees our interfaces and the conversations.
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		nstest.Skip(t, "needs tshark")
	}
	// Output, not CombinedOutput: tshark warns about running as root on
	// stderr.
	out, err := exec.Command(tshark, "-r", file, "-Y", "icmp.type == 8 or tcp.flags.syn == 1",
		"-T", "fields", "-e", "frame.interface_name", "-e", "ip.src", "-e", "ip.dst", "-e", "frame.packet_flags_direction").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], nameA+"\t10.90.0.2\t10.90.0.3\t0x00000001") || !strings.HasPrefix(lines[1], nameB+"\t10.90.0.2\t10.90.0.3\t0x00000002") {
		t.Fatalf("tshark sees (interface, src, dst, direction 1 in / 2 out):\n%s", out)
	}
	conv, err := exec.Command(tshark, "-r", file, "-q", "-z", "conv,tcp").Output()
	if err != nil || !strings.Contains(string(conv), "10.90.0.2:") || !strings.Contains(string(conv), "10.90.0.3:7777") {
		t.Fatalf("tshark conversations: %v\n%s", err, conv)
	}
}

// TestCaptureOnceWithDirection: by default every frame is recorded once,
// on the port it entered by, marked inbound (EPB epb_flags): tshark sees
// each echo request and SYN once, and no duplicate or retransmitted
// segment.
func TestCaptureOnceWithDirection(t *testing.T) {
	file, nameA, _ := captureTwoEndpoints(t)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		nstest.Skip(t, "needs tshark")
	}
	out, err := exec.Command(tshark, "-r", file, "-Y", "icmp.type == 8 or tcp.flags.syn == 1",
		"-T", "fields", "-e", "frame.interface_name", "-e", "ip.src", "-e", "frame.packet_flags_direction").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	want := nameA + "\t10.90.0.2\t0x00000001\n" + nameA + "\t10.90.0.2\t0x00000001\n"
	if !strings.HasPrefix(string(out), want) || strings.Count(string(out), "\n") != 3 {
		t.Fatalf("tshark sees (interface, src, direction):\n%s\nwant the echo request and SYN once each at %s, inbound, then the SYN-ACK", out, nameA)
	}
	dups, err := exec.Command(tshark, "-r", file, "-Y", "tcp.analysis.retransmission or tcp.analysis.duplicate_ack or tcp.analysis.spurious_retransmission or frame.packet_flags_direction != 1").Output()
	if err != nil || len(strings.TrimSpace(string(dups))) != 0 {
		t.Fatalf("tshark finds duplicates or outbound copies (%v):\n%s", err, dups)
	}
}

func TestCaptureTextAndFilter(t *testing.T) {
	sock, _ := startUp(t)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	for _, ns := range []string{a, b} {
		if _, stderr, code := sy(t, "attach", "default", ns, sock); code != 0 {
			t.Fatal(stderr)
		}
	}
	out, _ := captureRun(t, sock, func() {
		nstest.Exec(a, "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.90.0.3")
	}, "-f", "icmp", "--port", b)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Only b's port, only ICMP: 2 requests out to b, 2 replies in from b.
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got:\n%s", out)
	}
	for i, l := range lines {
		dir := " Out "
		if i%2 == 1 {
			dir = " In  "
		}
		if !strings.Contains(l, " "+b+dir) || !strings.Contains(l, "ICMP echo") {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	_, stderr, code := sy(t, "capture", sock, "-f", "greater 100")
	if code != 1 || !strings.Contains(stderr, "greater") {
		t.Fatalf("unsupported filter: exit %d, %q", code, stderr)
	}
	_, stderr, code = sy(t, "capture", sock, "--port", "ghost")
	if code != 1 || !strings.Contains(stderr, "no port \"ghost\"") {
		t.Fatalf("unknown port: exit %d, %q", code, stderr)
	}
}

func TestUpPcapCapturesFromStartUp(t *testing.T) {
	file := filepath.Join(t.TempDir(), "up.pcapng")
	sock, cmd := startUp(t, "--pcap", file)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	for _, ns := range []string{a, b} {
		if _, stderr, code := sy(t, "attach", "default", ns, "--name", ns[len(ns)-4:], sock); code != 0 {
			t.Fatal(stderr)
		}
	}
	if out, err := nstest.Exec(a, "ping", "-c", "1", "-W", "2", "10.90.0.3"); err != nil {
		t.Fatalf("ping: %v %s", err, out)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	echoes := map[string]bool{}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		intf, _ := r.Interface(ci.InterfaceIndex)
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if p.Layer(layers.LayerTypeICMPv4) != nil {
			echoes[intf.Name] = true
		}
	}
	for _, want := range []string{"default/" + a[len(a)-4:], "default/" + b[len(b)-4:]} {
		if !echoes[want] {
			t.Fatalf("no ICMP on interface %s; seen %v", want, echoes)
		}
	}
}

// TestCaptureSuperFrames: a bulk TCP transfer crosses the switch as
// offloaded super-frames (TSO on the TAPs); the capture records them with
// completed checksums and lengths tshark accepts, and all the data is
// there.
func TestCaptureSuperFrames(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		nstest.Skip(t, "needs tshark")
	}
	if _, err := exec.LookPath("socat"); err != nil {
		nstest.Skip(t, "needs socat")
	}
	sock, _ := startUp(t)
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	for _, ns := range []string{a, b} {
		if _, stderr, code := sy(t, "attach", "default", ns, "--name", ns[len(ns)-4:], sock); code != 0 {
			t.Fatal(stderr)
		}
	}
	const size = 4 << 20
	file := filepath.Join(t.TempDir(), "bulk.pcapng")
	_, stderr := captureRun(t, sock, func() {
		done := make(chan string, 1)
		go func() {
			out, _ := nstest.Exec(b, "sh", "-c", "timeout 10 socat -u TCP-LISTEN:7778 - | wc -c")
			done <- strings.TrimSpace(out)
		}()
		for i := 0; ; i++ {
			out, err := nstest.Exec(a, "sh", "-c", "head -c "+strconv.Itoa(size)+" /dev/urandom | socat -u - TCP:10.90.0.3:7778")
			if err == nil {
				break
			}
			if i == 20 {
				t.Fatalf("send: %v %s", err, out)
			}
			time.Sleep(100 * time.Millisecond) // the listener is not up yet
		}
		if got := <-done; got != strconv.Itoa(size) {
			t.Fatalf("receiver got %s bytes, want %d", got, size)
		}
	}, "-w", file, "-f", "tcp port 7778", "--port", a[len(a)-4:])
	// A slow reader makes the capture drop (and count) frames by design:
	// all payload is expected only when nothing was dropped.
	complete := strings.Contains(stderr, "\n0 packets dropped")
	if !complete {
		t.Logf("capture dropped frames: %s", stderr)
	}

	out, err := exec.Command(tshark, "-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "ip.src == 10.90.0.2 and tcp.len > 0",
		"-T", "fields", "-e", "frame.len", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "tcp.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	var payload, frames, super int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("tshark line %q", line)
		}
		// Checksum status: 0 bad, 1 good, 2 unverified.
		if f[1] != "1" || f[2] != "1" {
			t.Fatalf("frame with a bad or unverified checksum (frame.len, ip, tcp, tcp.len): %q", line)
		}
		n, _ := strconv.Atoi(f[3])
		l, _ := strconv.Atoi(f[0])
		payload += n
		frames++
		if l > 1514 {
			super++
		}
	}
	if payload < size && complete || payload == 0 {
		t.Fatalf("tshark sees %d payload bytes in %d frames, want at least %d", payload, frames, size)
	}
	t.Logf("%d payload bytes in %d frames, %d of them super-frames", payload, frames, super)
	if super == 0 {
		t.Error("no super-frame captured: the TAPs did not offload (expected TSO on fast TAPs)")
	}
}
