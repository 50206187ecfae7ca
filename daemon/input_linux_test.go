package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
)

// TestAttachOwnNetnsRefused: the daemon's own namespace, by path or by
// its PID, is refused with 400 and leaves nothing behind.
func TestAttachOwnNetnsRefused(t *testing.T) {
	l := startDaemon(t)
	for _, spec := range []string{"/proc/self/ns/net", "/proc/thread-self/ns/net", "pid:" + strconv.Itoa(os.Getpid())} {
		_, err := l.c.Attach(context.Background(), "default", api.EndpointCreate{Netns: spec})
		var se *api.StatusError
		if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(se.Msg, "own network namespace") {
			t.Errorf("attach %s: %v, want 400 naming the daemon's own namespace", spec, err)
		}
	}
	if eps, _ := l.c.Endpoints(context.Background(), ""); len(eps) != 0 {
		t.Fatalf("endpoints left: %+v", eps)
	}
}

// TestNetworkCreateHostOverlap: a subnet overlapping a host address or
// route is refused with 409 unless --allow-overlap.
func TestNetworkCreateHostOverlap(t *testing.T) {
	l := startDaemon(t)
	var b [3]byte
	rand.Read(b[:])
	veth := "syo" + hex.EncodeToString(b[:])
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	run("ip", "link", "add", veth, "type", "veth", "peer", "name", veth+"p")
	t.Cleanup(func() { exec.Command("ip", "link", "del", veth).Run() })
	run("ip", "addr", "add", "10.233.5.1/24", "dev", veth)
	run("ip", "link", "set", veth, "up")
	run("ip", "route", "add", "10.233.64.0/20", "dev", veth)

	ctx := context.Background()
	cases := []struct {
		req  api.NetworkCreate
		want int // 0: created
	}{
		{api.NetworkCreate{Name: "addr", Subnet: "10.233.5.0/24"}, http.StatusConflict},
		{api.NetworkCreate{Name: "wider", Subnet: "10.233.0.0/16"}, http.StatusConflict},
		{api.NetworkCreate{Name: "route", Subnet: "10.233.70.0/24"}, http.StatusConflict},
		{api.NetworkCreate{Name: "lo", Subnet: "127.0.0.0/24"}, http.StatusConflict},
		{api.NetworkCreate{Name: "lo2", Subnet: "127.0.0.0/24", AllowOverlap: true}, http.StatusConflict},
		{api.NetworkCreate{Name: "free", Subnet: "10.233.6.0/24"}, 0},
		{api.NetworkCreate{Name: "forced", Subnet: "10.233.70.0/24", AllowOverlap: true}, 0},
	}
	for _, tc := range cases {
		_, err := l.c.CreateNetwork(ctx, tc.req)
		var se *api.StatusError
		switch {
		case tc.want == 0 && err != nil:
			t.Errorf("%+v: %v", tc.req, err)
		case tc.want != 0 && (!errors.As(err, &se) || se.Status != tc.want):
			t.Errorf("%+v: %v, want status %d", tc.req, err, tc.want)
		}
	}
}
