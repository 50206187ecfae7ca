package cni

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/switchyard/switchyard/api"
)

// fakeDaemon is a Daemon holding one network's endpoints in memory.
type fakeDaemon struct {
	down       bool
	nets       []api.Network
	eps        []api.Endpoint
	publishErr error
	detached   []string
}

var _ Daemon = (*fakeDaemon)(nil)

var errDown = fmt.Errorf("%w at /x", api.ErrNotRunning)

func (f *fakeDaemon) Networks(context.Context) ([]api.Network, error) {
	if f.down {
		return nil, errDown
	}
	return f.nets, nil
}

func (f *fakeDaemon) CreateNetwork(_ context.Context, req api.NetworkCreate) (api.Network, error) {
	n := api.Network{Name: req.Name, Subnet: req.Subnet, Gateway: "10.9.0.1", VLAN: req.VLAN}
	f.nets = append(f.nets, n)
	return n, nil
}

func (f *fakeDaemon) Attach(_ context.Context, network string, req api.EndpointCreate) (api.Endpoint, error) {
	ep := api.Endpoint{Name: req.Name, Network: network, IfName: req.IfName, IP: "10.9.0.2/24", MAC: "02:00:00:00:00:02", DefaultRoute: true}
	f.eps = append(f.eps, ep)
	return ep, nil
}

func (f *fakeDaemon) Detach(_ context.Context, network, name string) error {
	if f.down {
		return errDown
	}
	i := slices.IndexFunc(f.eps, func(e api.Endpoint) bool { return e.Name == name })
	if i < 0 {
		return &api.StatusError{Status: http.StatusNotFound, Msg: "endpoint not found"}
	}
	f.eps = slices.Delete(f.eps, i, i+1)
	f.detached = append(f.detached, name)
	return nil
}

func (f *fakeDaemon) Endpoints(context.Context, string) ([]api.Endpoint, error) {
	if f.down {
		return nil, errDown
	}
	return slices.Clone(f.eps), nil
}

func (f *fakeDaemon) Publish(context.Context, string, api.PublishRequest) (api.Published, error) {
	return api.Published{}, f.publishErr
}

func testPlugin(d *fakeDaemon, out io.Writer) *Plugin {
	return &Plugin{Dial: func(string) Daemon { return d }, Stdout: out, Log: slog.New(slog.DiscardHandler)}
}

const fakeConf = `{"cniVersion":"1.1.0","name":"cn","type":"switchyard","network":"blue","subnet":"10.9.0.0/24"`

func cmdArgs(conf, container string) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: container, Netns: "/var/run/netns/x", IfName: "eth0", StdinData: []byte(conf)}
}

// cniCode returns the CNI error code of err (0 for nil, -1 if not a CNI
// error).
func cniCode(err error) int {
	var e *types.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return int(e.Code)
	}
	return -1
}

func TestStatusDelGCWithFake(t *testing.T) {
	d := &fakeDaemon{}
	p := testPlugin(d, io.Discard)
	conf := fakeConf + "}"
	for _, c := range []string{"c1", "c2", "c3"} {
		if err := p.Add(cmdArgs(conf, c)); err != nil {
			t.Fatalf("ADD %s: %v", c, err)
		}
	}
	// An endpoint of another CNI network and one made by hand.
	d.eps = append(d.eps, api.Endpoint{Name: EndpointName("other", "c9", "eth0")}, api.Endpoint{Name: "manual"})
	gc := `{"cniVersion":"1.1.0","name":"cn","type":"switchyard","network":"blue",
		"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"}]}`
	if err := p.GC(cmdArgs(gc, "")); err != nil {
		t.Fatalf("GC: %v", err)
	}
	want := []string{EndpointName("cn", "c1", "eth0"), EndpointName("cn", "c3", "eth0")}
	if !slices.Equal(d.detached, want) {
		t.Fatalf("GC detached %v, want %v", d.detached, want)
	}
	for _, tc := range []struct {
		name string
		run  func() error
		down bool
		code int
	}{
		{"DEL existing", func() error { return p.Del(cmdArgs(conf, "c2")) }, false, 0},
		{"DEL again", func() error { return p.Del(cmdArgs(conf, "c2")) }, false, 0},
		{"DEL bad config", func() error { return p.Del(cmdArgs(`{}`, "c2")) }, false, int(types.ErrInvalidNetworkConfig)},
		{"DEL daemon down", func() error { return p.Del(cmdArgs(conf, "c2")) }, true, int(types.ErrTryAgainLater)},
		{"STATUS up", func() error { return p.Status(cmdArgs(conf, "")) }, false, 0},
		{"STATUS down", func() error { return p.Status(cmdArgs(conf, "")) }, true, int(types.ErrPluginNotAvailable)},
		{"STATUS no network, no subnet", func() error {
			return p.Status(cmdArgs(`{"cniVersion":"1.1.0","name":"cn","network":"nope"}`, ""))
		}, false, int(types.ErrPluginNotAvailable)},
		{"ADD daemon down", func() error { return p.Add(cmdArgs(conf, "c5")) }, true, int(types.ErrTryAgainLater)},
		{"ADD subnet mismatch", func() error {
			return p.Add(cmdArgs(`{"cniVersion":"1.1.0","name":"cn","network":"blue","subnet":"10.8.0.0/24"}`, "c6"))
		}, false, int(types.ErrInvalidNetworkConfig)},
	} {
		d.down = tc.down
		if got := cniCode(tc.run()); got != tc.code {
			t.Errorf("%s: CNI code %d, want %d", tc.name, got, tc.code)
		}
	}
}

func TestAddFailedPublishDetaches(t *testing.T) {
	d := &fakeDaemon{publishErr: errors.New("port in use")}
	var out bytes.Buffer
	conf := fakeConf + `,"runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80}]}}`
	if err := testPlugin(d, &out).Add(cmdArgs(conf, "c1")); cniCode(err) != int(types.ErrInternal) {
		t.Fatalf("ADD with a failing publish: %v", err)
	}
	if len(d.eps) != 0 || out.Len() != 0 {
		t.Fatalf("failed ADD left endpoints %v and printed %q", d.eps, out.String())
	}
}
