package nstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace NewNetns creates.
const Prefix = "sytest-"

// RequireNetAdmin skips t unless the process runs as root with
// CAP_NET_ADMIN and CAP_SYS_ADMIN (needed for setns), /dev/net/tun exists
// and the ip(8) command is available.
func RequireNetAdmin(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)")
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		Skipf(t, "capget: %v", err)
	}
	for c, name := range map[uint]string{unix.CAP_NET_ADMIN: "CAP_NET_ADMIN", unix.CAP_SYS_ADMIN: "CAP_SYS_ADMIN"} {
		if data[c/32].Effective&(1<<(c%32)) == 0 {
			Skipf(t, "needs %s in the effective capability set", name)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		Skipf(t, "no TUN/TAP support: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		Skipf(t, "needs ip(8): %v", err)
	}
}

// NewNetns creates a network namespace named Prefix plus a random suffix
// with `ip netns add`, brings its loopback up and deletes it when t ends.
// It returns the name; Path gives the file.
func NewNetns(t testing.TB) string {
	t.Helper()
	RequireNetAdmin(t)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random name: %v", err)
	}
	name := Prefix + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		Skipf(t, "cannot create network namespaces: ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		out, err := exec.Command("ip", "netns", "del", name).CombinedOutput()
		if err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := Exec(name, "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("lo up in %s: %v: %s", name, err, out)
	}
	return name
}

// Path returns the file of the namespace NewNetns named name.
func Path(name string) string {
	return filepath.Join("/var/run/netns", name)
}

// Exec runs argv inside the named namespace (`ip netns exec`) and returns
// its combined output.
func Exec(name string, argv ...string) (string, error) {
	args := append([]string{"netns", "exec", name}, argv...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Run runs argv in the named namespace and fails t with its output on
// error; it returns the trimmed output.
func Run(t testing.TB, name string, argv ...string) string {
	t.Helper()
	out, err := Exec(name, argv...)
	if err != nil {
		t.Fatalf("%s: %v: %v: %s", name, argv, err, out)
	}
	return out
}

// Veth links two new namespaces (see NewNetns) with a veth pair named
// ifname at both ends, up, with IPv6 off in both namespaces (no router
// solicitations or MLD reports add noise), and returns their names.
func Veth(t testing.TB, ifname string) (string, string) {
	t.Helper()
	a, b := NewNetns(t), NewNetns(t)
	Run(t, a, "ip", "link", "add", ifname, "type", "veth", "peer", "name", ifname, "netns", b)
	for _, ns := range []string{a, b} {
		Run(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		Run(t, ns, "ip", "link", "set", ifname, "up")
	}
	return a, b
}
