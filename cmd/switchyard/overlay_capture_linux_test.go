package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// underlayCapture runs tshark on a namespace's interface into a file until
// the returned stop function is called, which returns the file.
func underlayCapture(t *testing.T, ns, dev string) func() string {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		nstest.Skip(t, "needs tshark")
	}
	file := filepath.Join(t.TempDir(), dev+".pcapng")
	cmd := exec.Command("ip", "netns", "exec", ns, "tshark", "-q", "-i", dev, "-w", file)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	waitFor(t, 10*time.Second, "tshark capturing on "+dev, func() bool {
		st, err := os.Stat(file)
		return err == nil && st.Size() > 0
	})
	return func() string {
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		return file
	}
}

// vxlanFrames lists the VXLAN frames of a capture as "VNI inner-src
// inner-dst arp-target" lines (inner IPv4 addresses; ARP's target address).
func vxlanFrames(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command("tshark", "-r", file, "-d", "udp.port==4789,vxlan", "-Y", "vxlan", "-T", "fields",
		"-E", "occurrence=l", "-e", "vxlan.vni", "-e", "ip.src", "-e", "ip.dst", "-e", "arp.dst.proto_ipv4").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", file, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestOverlayIsolationCaptured checks two overlay networks on the wire:
// tshark on the underlay sees each network's traffic under its own VNI
// only, an endpoint of one network sees nothing of the other's, and ARP
// for an endpoint on another host is answered on the asking host (no
// request crosses the underlay).
func TestOverlayIsolationCaptured(t *testing.T) {
	l := newOverlayLab(t, 2, true)
	h1, h2 := l.hosts[0], l.hosts[1]
	l.cli(h1, "network", "create", "red", "--driver", "overlay", "--subnet", "10.97.0.0/24", "--vni", "4100")
	l.cli(h1, "network", "create", "blue", "--driver", "overlay", "--subnet", "10.98.0.0/24", "--vni", "4200")
	waitFor(t, 5*time.Second, "both networks on h2", func() bool {
		ls := l.cli(h2, "network", "ls")
		return strings.Contains(ls, "red") && strings.Contains(ls, "blue")
	})
	r1, _ := l.attach(h1, "red", "r1")
	_, r2 := l.attach(h2, "red", "r2")
	b1, _ := l.attach(h1, "blue", "b1")
	b2ns, b2 := l.attach(h2, "blue", "b2")
	waitFor(t, 5*time.Second, "h1 knows r2 and b2", func() bool {
		return l.endpoints(h1, "red")["r2"].Host == h2.addr && l.endpoints(h1, "blue")["b2"].Host == h2.addr
	})
	stop := underlayCapture(t, l.bridge, "br0")
	stopB2 := underlayCapture(t, b2ns, "eth0")
	nsRun(t, r1, "ping", "-c", "3", "-i", "0.2", "-W", "2", addr(r2))
	nsRun(t, b1, "ping", "-c", "3", "-i", "0.2", "-W", "2", addr(b2))
	frames, inB2 := vxlanFrames(t, stop()), stopB2()

	red, blue := 0, 0
	for _, f := range frames {
		fs := strings.Split(f, "\t")
		for len(fs) < 4 {
			fs = append(fs, "")
		}
		vni, src, dst, arpTarget := fs[0], fs[1], fs[2], fs[3]
		switch {
		case arpTarget == addr(r2) || arpTarget == addr(b2):
			t.Errorf("an ARP request for a known remote endpoint crossed the underlay: %q", f)
		case vni == "4100" && strings.HasPrefix(src, "10.97.") && strings.HasPrefix(dst, "10.97."):
			red++
		case vni == "4200" && strings.HasPrefix(src, "10.98.") && strings.HasPrefix(dst, "10.98."):
			blue++
		case strings.HasPrefix(src, "10.97.") || strings.HasPrefix(src, "10.98.") || strings.HasPrefix(dst, "10.97.") ||
			strings.HasPrefix(dst, "10.98."):
			t.Errorf("a frame under the wrong VNI: %q", f)
		}
	}
	if red < 6 || blue < 6 {
		t.Fatalf("the underlay carried %d red and %d blue IPv4 frames, want at least 6 each (3 pings):\n%s",
			red, blue, strings.Join(frames, "\n"))
	}
	out, err := exec.Command("tshark", "-r", inB2, "-Y", "ip.addr == 10.97.0.0/24", "-T", "fields", "-e", "ip.src").Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("blue endpoint b2 saw red traffic (%v): %s", err, out)
	}
}
