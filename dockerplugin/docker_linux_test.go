package dockerplugin_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/dockerplugin"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// syEndpoints lists the switchyard endpoints of every network.
func (e *dockerEnv) syEndpoints() []api.Endpoint {
	e.t.Helper()
	eps, err := e.sy.Endpoints(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return eps
}

// TestDockerNetworkLifecycle drives the plugin with a real dockerd:
// network create (bad options refused), two containers talking by name,
// --ip, -p from the host, network connect/disconnect, and removal leaving
// no endpoint, published port, staging namespace or network behind.
func TestDockerNetworkLifecycle(t *testing.T) {
	e := startDockerEnv(t)
	d := e.plugin
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-o", "switchyard.bogus=1", "--subnet", "10.218.9.0/24"}, "switchyard.bogus is not supported"},
		{[]string{"-o", "switchyard.vlan=5000", "--subnet", "10.218.9.0/24"}, "VLAN ID"},
		{[]string{"--subnet", "10.218.9.0/24", "--subnet", "fd00::/64", "--ipv6"}, "IPv6"},
		{nil, "--subnet"},
	} {
		out, err := e.docker(append(append([]string{"network", "create", "-d", d, "--ipam-driver", d}, bad.args...), "bad")...)
		if err == nil || !strings.Contains(out, bad.msg) {
			t.Errorf("network create %v: %v %q, want an error with %q", bad.args, err, out, bad.msg)
		}
	}
	if nets, _ := e.sy.Networks(context.Background()); len(nets) != 1 {
		t.Fatalf("refused creates left networks: %+v", nets)
	}

	netID := e.mustDocker("network", "create", "-d", d, "--ipam-driver", d, "--subnet", "10.218.1.0/24",
		"-o", "com.docker.network.driver.mtu=1400", "synet")
	syNet := dockerplugin.NetworkName(netID)
	nets, _ := e.sy.Networks(context.Background())
	i := slices.IndexFunc(nets, func(n api.Network) bool { return n.Name == syNet })
	if i < 0 || nets[i].Subnet != "10.218.1.0/24" || nets[i].Gateway != "10.218.1.1" || nets[i].MTU != 1400 {
		t.Fatalf("switchyard networks after create: %+v", nets)
	}

	e.mustDocker("run", "-d", "--name", "web", "--network", "synet", "-p", "8082:80", e.image,
		"sh", "-c", "echo hello > /tmp/x; exec httpd -f -p 80 -h /tmp")
	eps := e.syEndpoints()
	if len(eps) != 1 || eps[0].IP != "10.218.1.2/24" || eps[0].MTU != 1400 {
		t.Fatalf("endpoints with web running: %+v", eps)
	}
	if got := e.mustDocker("run", "--rm", "--network", "synet", e.image, "wget", "-qO-", "http://web/x"); got != "hello" {
		t.Errorf("wget web by name: %q", got)
	}
	if got := e.mustDocker("run", "--rm", "--network", "synet", "--ip", "10.218.1.77", e.image, "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(got, "10.218.1.77/24") {
		t.Errorf("--ip: %q", got)
	}
	if got, err := nstest.Exec(e.ns, "busybox", "wget", "-qO-", "http://127.0.0.1:8082/x"); err != nil || got != "hello" {
		t.Errorf("published port from the host: %q %v", got, err)
	}
	if ports, _ := e.sy.Ports(context.Background()); len(ports) != 1 || !strings.HasPrefix(ports[0].Spec, "8082:") {
		t.Errorf("published ports: %+v", ports)
	}
	e.checkExternalAndCapture(syNet)

	// Multi-homing: connect web to a second network, then disconnect.
	net2 := e.mustDocker("network", "create", "-d", d, "--ipam-driver", d, "--subnet", "10.218.2.0/24", "--gateway", "10.218.2.254", "synet2")
	e.mustDocker("network", "connect", "synet2", "web")
	if got := e.mustDocker("exec", "web", "ip", "-o", "-4", "addr"); !strings.Contains(got, "10.218.2.1/24") || !strings.Contains(got, "10.218.1.2/24") {
		t.Errorf("addresses after network connect: %q", got)
	}
	if got := e.mustDocker("exec", "web", "ping", "-c", "1", "-W", "2", "10.218.2.254"); !strings.Contains(got, "1 packets received") {
		t.Errorf("ping the second gateway: %q", got)
	}
	e.mustDocker("network", "disconnect", "synet2", "web")
	if eps, _ := e.sy.Endpoints(context.Background(), dockerplugin.NetworkName(net2)); len(eps) != 0 {
		t.Errorf("endpoints on synet2 after disconnect: %+v", eps)
	}

	webEP := e.syEndpoints()[0].Name
	e.mustDocker("rm", "-f", "web")
	if eps := e.syEndpoints(); len(eps) != 0 {
		t.Errorf("endpoints after docker rm: %+v", eps)
	}
	if ports, _ := e.sy.Ports(context.Background()); len(ports) != 0 {
		t.Errorf("published ports after docker rm: %+v", ports)
	}
	if _, err := os.Stat(filepath.Join(dockerplugin.DefaultStagingDir, webEP)); !os.IsNotExist(err) {
		t.Errorf("staging namespace of %s left behind (%v)", webEP, err)
	}
	e.mustDocker("network", "rm", "synet", "synet2")
	if nets, _ := e.sy.Networks(context.Background()); len(nets) != 1 {
		t.Errorf("switchyard networks after docker network rm: %+v", nets)
	}
	if links, _ := nstest.Exec(e.ns, "ip", "-o", "link"); strings.Contains(links, ": sy") {
		t.Errorf("TAPs left in the host namespace:\n%s", links)
	}
}
