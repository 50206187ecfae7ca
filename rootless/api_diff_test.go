package rootless

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
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

// TestDiffRealAPI sends the same requests to the installed slirp4netns's
// API socket and to ours and compares the replies byte for byte. It needs
// SWITCHYARD_S4NN_DIFF=1, slirp4netns and unshare; it starts
// "unshare -rn sleep" as the target namespace and kills both processes at
// the end. Requests on which slirp4netns 1.2.0 crashes (add_hostfwd
// without a string proto) or which hit our deliberate differences (ports
// outside 1..65535) are not sent.
func TestDiffRealAPI(t *testing.T) {
	nstest.OptIn(t, "SWITCHYARD_S4NN_DIFF", "the comparisons with the installed slirp4netns (CI does)")
	for _, b := range []string{"slirp4netns", "unshare"} {
		if _, err := exec.LookPath(b); err != nil {
			nstest.Skip(t, b+" not installed")
		}
	}
	ns := exec.Command("unshare", "-rn", "sleep", "300")
	if err := ns.Start(); err != nil {
		nstest.Skip(t, "unshare: ", err)
	}
	t.Cleanup(func() { ns.Process.Kill(); ns.Wait() })
	sock := filepath.Join(t.TempDir(), "real.sock")
	real := exec.Command("slirp4netns", "--api-socket", sock, strconv.Itoa(ns.Process.Pid), "tap0")
	if err := real.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Process.Signal(syscall.SIGTERM); real.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 50 {
			t.Fatal("slirp4netns did not create its API socket")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Our forwards really bind, on the port with the top bit flipped (a
	// change the mutations below rarely make), so that both sides meet
	// the same bind errors without meeting each other.
	ours := NewHostFwdTable(func(f HostFwd) (io.Closer, error) {
		port := f.HostPort ^ 0x8000
		if port == 0 {
			port = 1
		}
		addr := net.JoinHostPort(f.HostAddr.String(), strconv.Itoa(port))
		if f.Proto == "udp" {
			return net.ListenPacket("udp4", addr)
		}
		return net.Listen("tcp4", addr)
	})
	t.Cleanup(func() { ours.Close() })
	rng := rand.New(rand.NewPCG(3, 4))
	base := 30000 + rng.IntN(20000)
	seeds := []string{
		listReq, `{"execute":"remove_hostfwd","arguments":{"id":1}}`, `{"execute":"remove_hostfwd","arguments":{"id":2.5}}`,
		fmt.Sprintf(`{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":%d,"guest_addr":"10.0.2.5","guest_port":80}}`, base),
		fmt.Sprintf(`{"execute":"add_hostfwd","arguments":{"proto":"udp","host_port":%d,"guest_port":53}}`, base+1),
		fmt.Sprintf(`{ "execute" : "add_hostfwd" , "arguments" : { "proto" : "tcp" , "host_port" : %d.5 , "guest_port" : 1e1 } }`, base+2),
		`{"execute":"list_hostfwd","x":[1,-2.5e-3,true,false,null,{"a":"\u00e9\ud83d\ude00\n"}]}`,
	}
	mutate := func(s string) string {
		b := []byte(s)
		const alphabet = "{}[]\":,.-+eE0123456789 \\u/tnfrx\x00\x01\xff"
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b) + 1)
			switch rng.IntN(3) {
			case 0:
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default:
				if i < len(b) {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				}
			}
		}
		return string(b)
	}
	sent := 0
	for n := range 3000 {
		req := seeds[rng.IntN(len(seeds))]
		if n%3 != 0 {
			req = mutate(req)
		}
		if crashesReal(req) {
			continue
		}
		want, err := rawCall(sock, req)
		if err != nil {
			t.Fatalf("real slirp4netns on %q: %v", req, err)
		}
		got := handle(ours, testGuest, []byte(req))
		if string(got) != want {
			t.Fatalf("after %d requests, %q:\n ours %s\n real %s", sent, req, got, want)
		}
		sent++
	}
	t.Logf("%d requests compared", sent)
}

// crashesReal reports requests slirp4netns 1.2.0 crashes on, or that we
// answer differently on purpose (proto tcp4/udp4, ports out of range).
func crashesReal(req string) bool {
	v, ok := parseJSON([]byte(req))
	if !ok || v.kind != jsonObject {
		return false
	}
	if e, _ := v.getString("execute"); e != "add_hostfwd" {
		return false
	}
	args := v.get("arguments")
	if p, ok := args.getString("proto"); !ok || p == "tcp4" || p == "udp4" {
		return true // a crash, or our extension
	}
	for _, k := range []string{"host_port", "guest_port"} {
		if f := math.Trunc(args.getNumber(k)); f != 0 && (f < 1 || f > 65535) {
			return true
		}
	}
	return false
}

// rawCall sends req, half-closes and reads the reply to EOF.
func rawCall(path, req string) (string, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		return string(b), fmt.Errorf("read: %w", err)
	}
	if len(b) == 0 {
		return "", errors.New("empty reply (crash?)")
	}
	return strings.Clone(string(b)), nil
}
