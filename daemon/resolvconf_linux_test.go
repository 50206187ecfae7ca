package daemon_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// netnsResolvConf is the file `ip netns exec NAME` shows as /etc/resolv.conf.
func netnsResolvConf(ns string) string {
	return filepath.Join(daemon.DefaultNetnsEtc, ns, "resolv.conf")
}

// noLeftoverEtc fails t if /etc/netns/NAME is still there when t ends. It
// must be called before the daemon starts, so that it runs after its stop.
func noLeftoverEtc(t *testing.T, names ...string) {
	t.Cleanup(func() {
		for _, ns := range names {
			dir := filepath.Join(daemon.DefaultNetnsEtc, ns)
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("%s left behind", dir)
				os.RemoveAll(dir)
			}
		}
	})
}

// TestResolvConfFollowsAttachments: attaching a named namespace writes its
// resolv.conf (gateway DNS, network domain), names resolve through it
// inside the namespace, a second network adds its gateway and domain,
// detaching rewrites it and the last detach removes it.
func TestResolvConfFollowsAttachments(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		nstest.Skip(t, "needs busybox (nslookup)")
	}
	a, b := nstest.NewNetns(t), nstest.NewNetns(t)
	noLeftoverEtc(t, a, b)
	l := startDaemon(t)
	l.network("blue", "10.211.0.0/24", 0)
	l.network("red", "10.212.0.0/24", 0)
	ctx := context.Background()
	if _, err := l.c.Attach(ctx, "blue", api.EndpointCreate{Netns: a, Name: "web"}); err != nil {
		t.Fatal(err)
	}
	ep, err := l.c.Attach(ctx, "blue", api.EndpointCreate{Netns: b})
	if err != nil {
		t.Fatal(err)
	}
	path := netnsResolvConf(b)
	if ep.ResolvConf != path {
		t.Fatalf("endpoint resolv_conf %q, want %q", ep.ResolvConf, path)
	}
	checkResolvConf(t, path, "search blue\nnameserver 10.211.0.1\n")
	out, err := nstest.Exec(b, busybox, "nslookup", "web")
	if err != nil || !strings.Contains(out, "10.211.0.2") {
		t.Fatalf("nslookup web inside %s: %v\n%s", b, err, out)
	}
	if _, err := l.c.Attach(ctx, "red", api.EndpointCreate{Netns: b, Name: "b-red"}); err != nil {
		t.Fatal(err)
	}
	checkResolvConf(t, path, "search blue red\nnameserver 10.211.0.1\nnameserver 10.212.0.1\n")
	if err := l.c.Detach(ctx, "blue", ep.Name); err != nil {
		t.Fatal(err)
	}
	checkResolvConf(t, path, "search red\nnameserver 10.212.0.1\n")
	if err := l.c.Detach(ctx, "red", "b-red"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Fatalf("last detach left %s (%v)", filepath.Dir(path), err)
	}
}

// TestResolvConfLeftAlone: a file the daemon did not write is neither
// changed nor removed; --no-resolv-conf writes nothing; a --dhcp
// endpoint gets the file too.
func TestResolvConfLeftAlone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		foreign string // an existing resolv.conf, or ""
		req     api.EndpointCreate
		want    bool // the daemon writes the file
	}{
		{name: "foreign", foreign: "nameserver 192.0.2.53\n"},
		{name: "no-resolv-conf", req: api.EndpointCreate{NoResolvConf: true}},
		{name: "dhcp", req: api.EndpointCreate{DHCP: true}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := nstest.NewNetns(t)
			noLeftoverEtc(t, ns)
			path := netnsResolvConf(ns)
			if tc.foreign != "" {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(tc.foreign), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
			}
			l := startDaemon(t)
			l.network("blue", "10.213.0.0/24", 0)
			req := tc.req
			req.Netns = ns
			ep, err := l.c.Attach(context.Background(), "blue", req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ep.ResolvConf != ""; got != tc.want {
				t.Fatalf("resolv_conf %q, want written=%v", ep.ResolvConf, tc.want)
			}
			if tc.want {
				checkResolvConf(t, path, "search blue\nnameserver 10.213.0.1\n")
			} else if tc.foreign == "" {
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Fatalf("%s written (%v)", path, err)
				}
			}
			if err := l.c.Detach(context.Background(), "blue", ep.Name); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.foreign {
				t.Fatalf("after detach %s holds %q, want %q", path, got, tc.foreign)
			}
		})
	}
}

// checkResolvConf compares the file, after the daemon's marker line, with
// want, and checks the namespace sees it as /etc/resolv.conf.
func checkResolvConf(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(got), "\n")
	if !strings.HasPrefix(first, "# Written by switchyard") || rest != want {
		t.Fatalf("%s:\n%s\nwant the marker line and\n%s", path, got, want)
	}
	ns := filepath.Base(filepath.Dir(path))
	if inside, err := nstest.Exec(ns, "cat", "/etc/resolv.conf"); err != nil || inside != strings.TrimSpace(string(got)) {
		t.Fatalf("/etc/resolv.conf inside %s: %v\n%s", ns, err, inside)
	}
}
