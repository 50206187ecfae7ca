package dockerplugin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
)

// TestDockerOverlayAndSharedNetworks: -o switchyard.overlay=true makes a
// VXLAN overlay network, -o switchyard.name uses an existing switchyard
// network (as a cluster peer's overlay network would be) and leaves it at
// docker network rm.
func TestDockerOverlayAndSharedNetworks(t *testing.T) {
	e := startDockerEnv(t)
	d := e.plugin
	ctx := context.Background()
	network := func(name string) (api.Network, bool) {
		nets, err := e.sy.Networks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(nets, func(n api.Network) bool { return n.Name == name })
		if i < 0 {
			return api.Network{}, false
		}
		return nets[i], true
	}

	e.mustDocker("network", "create", "-d", d, "--ipam-driver", d, "--subnet", "10.218.3.0/24",
		"-o", "switchyard.overlay=true", "-o", "switchyard.vni=7001", "-o", "switchyard.name=sy-ovl", "dovl")
	if n, ok := network("sy-ovl"); !ok || n.Driver != api.DriverOverlay || n.VNI != 7001 {
		t.Fatalf("overlay network: %+v %v", n, ok)
	}
	if got := e.mustDocker("run", "--rm", "--network", "dovl", e.image, "ping", "-c", "1", "-W", "2", "10.218.3.1"); !strings.Contains(got, "1 packets received") {
		t.Errorf("ping the overlay gateway: %q", got)
	}
	e.mustDocker("network", "rm", "dovl")
	if _, ok := network("sy-ovl"); ok {
		t.Error("overlay network left after docker network rm")
	}

	if _, err := e.sy.CreateNetwork(ctx, api.NetworkCreate{Name: "sy-shared", Subnet: "10.218.4.0/24"}); err != nil {
		t.Fatal(err)
	}
	if out, err := e.docker("network", "create", "-d", d, "--ipam-driver", d, "--subnet", "10.218.5.0/24",
		"-o", "switchyard.name=sy-shared", "dclash"); err == nil || !strings.Contains(out, "exists with subnet") {
		t.Errorf("using a network with another subnet: %v %q", err, out)
	}
	e.mustDocker("network", "create", "-d", d, "--ipam-driver", d, "--subnet", "10.218.4.0/24", "-o", "switchyard.name=sy-shared", "dshared")
	if got := e.mustDocker("run", "--rm", "--network", "dshared", e.image, "ping", "-c", "1", "-W", "2", "10.218.4.1"); !strings.Contains(got, "1 packets received") {
		t.Errorf("ping the shared network's gateway: %q", got)
	}
	e.mustDocker("network", "rm", "dshared")
	if n, ok := network("sy-shared"); !ok || n.Endpoints != 0 {
		t.Errorf("shared network after docker network rm: %+v %v (want kept, empty)", n, ok)
	}
	if err := e.sy.RemoveNetwork(ctx, "sy-shared"); err != nil {
		t.Error(err)
	}
}
