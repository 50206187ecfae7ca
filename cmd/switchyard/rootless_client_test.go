package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// clientNS is a client namespace joined to the host by a veth pair.
type clientNS struct {
	name             string
	hostIP, clientIP string // IPv4
	host6, client6   string // IPv6
}

// clientNetns makes a namespace joined to the host by a veth pair, with a
// random /30 of 198.18.0.0/15 and a random ULA /64 (so that parallel runs
// do not collide). Everything goes when t ends.
func clientNetns(t *testing.T) clientNS {
	t.Helper()
	name := nstest.NewNetns(t)
	var b [3]byte
	rand.Read(b[:])
	veth := "syc" + hex.EncodeToString(b[:])
	net := fmt.Sprintf("198.%d.%d.%d", 18+b[0]%2, b[1], b[2]&0xfc)
	base := strings.Split(net, ".")
	last, _ := strconv.Atoi(base[3])
	hostIP := fmt.Sprintf("%s.%s.%s.%d", base[0], base[1], base[2], last+1)
	clientIP := fmt.Sprintf("%s.%s.%s.%d", base[0], base[1], base[2], last+2)
	ula := fmt.Sprintf("fd5e:%02x%02x:%02x::", b[0], b[1], b[2])
	for _, argv := range [][]string{
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "c", "netns", name},
		{"ip", "addr", "add", hostIP + "/30", "dev", veth},
		{"ip", "link", "set", veth, "up"},
		{"ip", "-n", name, "addr", "add", clientIP + "/30", "dev", veth + "c"},
		{"ip", "-n", name, "link", "set", veth + "c", "up"},
		{"ip", "addr", "add", ula + "1/64", "dev", veth, "nodad"},
		{"ip", "-n", name, "addr", "add", ula + "2/64", "dev", veth + "c", "nodad"},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", strings.Join(argv, " "), err, out)
		}
		if argv[1] == "link" && argv[2] == "add" {
			t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
		}
	}
	canon := func(s string) string { return netip.MustParseAddr(s).String() }
	return clientNS{name: name, hostIP: hostIP, clientIP: clientIP, host6: canon(ula + "1"), client6: canon(ula + "2")}
}

// TestSlirp4netnsForwardsKeepClient: TCP and UDP forwards added through
// the API show the guest the client's own address (a client in another
// namespace), or the gateway's for a client on the host's loopback, as
// root and as an unprivileged user.
func TestSlirp4netnsForwardsKeepClient(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) {
			cl := clientNetns(t)
			pid := userNetns(t, who)
			sock := filepath.Join(sharedDir(t), "api.sock")
			readyR, readyW, _ := os.Pipe()
			c := who.cmd(who.binary, "slirp4netns", "-c", "-r", "3", "-a", sock, strconv.Itoa(pid), "tap0")
			c.ExtraFiles = []*os.File{readyW}
			var stderr bytes.Buffer
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			readyW.Close()
			defer func() { c.Process.Kill(); c.Wait() }()
			b := make([]byte, 1)
			readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, _ := readyR.Read(b); n != 1 {
				t.Fatalf("not ready: %s", stderr.String())
			}
			for _, fw := range []struct{ proto, guestPort, listen string }{
				{"tcp", "7000", "TCP-LISTEN:7000,fork,reuseaddr"},
				{"udp", "7001", "UDP-RECVFROM:7001,fork"},
			} {
				proto, guestPort, listen := fw.proto, fw.guestPort, fw.listen
				srv := who.cmd("nsenter", "-t", strconv.Itoa(pid), "-U", "-n", "--preserve-credentials", "--",
					"socat", "-T5", listen, "SYSTEM:echo $SOCAT_PEERADDR")
				if err := srv.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { srv.Process.Kill(); srv.Wait() }()
				port := freePort(t)
				if r := apiCall(t, sock, `{"execute":"add_hostfwd","arguments":{"proto":"`+proto+`","host_addr":"0.0.0.0","host_port":`+port+`,"guest_port":`+guestPort+`}}`); !strings.HasPrefix(r, `{"return":{"id":`) {
					t.Fatalf("add_hostfwd %s: %s", proto, r)
				}
				for _, tc := range []struct{ netns, addr, want string }{
					{"", "127.0.0.1", "10.0.2.2"},
					{cl.name, cl.hostIP, cl.clientIP},
				} {
					var got string
					for i := 0; i < 20 && got == ""; i++ {
						got = clientAsk(tc.netns, proto, tc.addr+":"+port)
						if got == "" {
							time.Sleep(100 * time.Millisecond) // socat starting
						}
					}
					if got = peerAddr(got); got != tc.want {
						t.Errorf("%s forward from %s: the guest saw %q, want %s\n%s", proto, tc.addr, got, tc.want, stderr.String())
					}
				}
			}
		})
	}
}

// peerAddr normalises an address as socat's SOCAT_PEERADDR gives it
// (IPv6 expanded in brackets, IPv4 maybe mapped).
func peerAddr(s string) string {
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap().String()
	}
	return s
}

// clientAsk sends a line over proto to addr from inside netns ("": the
// host) and returns the first line of the reply.
func clientAsk(netns, proto, addr string) string {
	argv := []string{"socat", "-T2", "-", proto + ":" + addr}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader("who am i\n")
	out, _ := cmd.Output()
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

// TestRunIPv6ForwardsKeepClient: with --ipv6, IPv6 clients of `run -p
// [::]:...` forwards reach the command over IPv6 with their own address
// (fd00::2 for the host's [::1]), TCP and UDP, as root and as a user.
func TestRunIPv6ForwardsKeepClient(t *testing.T) {
	for _, who := range identities(t) {
		t.Run(who.name, func(t *testing.T) {
			cl := clientNetns(t)
			tcp1, tcp2, udp := freePort(t), freePort(t), freePort(t)
			server := `socat UDP6-RECVFROM:7001,fork SYSTEM:"echo \$SOCAT_PEERADDR" & exec socat TCP6-LISTEN:7000,fork,reuseaddr SYSTEM:"echo \$SOCAT_PEERADDR"`
			c := who.cmd(who.binary, "run", "--ipv6", "-p", "[::1]:"+tcp1+":7000", "-p", "[::]:"+tcp2+":7000",
				"-p", "[::]:"+udp+":7001/udp", "--", "sh", "-c", server)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			// The command's two servers are in run's process group: all go
			// at the end (run relays signals to the command only).
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			c.WaitDelay = 5 * time.Second
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() }()
			for _, tc := range []struct{ netns, proto, addr, want string }{
				{"", "tcp6", "[::1]:" + tcp1, "fd00::2"},
				{cl.name, "tcp6", "[" + cl.host6 + "]:" + tcp2, cl.client6},
				{cl.name, "udp6", "[" + cl.host6 + "]:" + udp, cl.client6},
			} {
				// Until the command's SLAAC address is ready, the guest is
				// reached over IPv4 and sees its own address.
				var got string
				for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
					if got = peerAddr(clientAsk(tc.netns, tc.proto, tc.addr)); got == tc.want {
						break
					}
				}
				if got != tc.want {
					t.Errorf("%s to %s: the guest saw %q, want %s\n%s", tc.proto, tc.addr, got, tc.want, stderr.String())
				}
			}
		})
	}
}
