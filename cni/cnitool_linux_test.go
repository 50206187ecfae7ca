package cni_test

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cni"
	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// pluginConf is the switchyard entry of a configuration list.
func pluginConf(sock, network, subnet string) map[string]any {
	return map[string]any{"type": "switchyard", "socket": sock, "network": network, "subnet": subnet,
		"mtu": 1400, "capabilities": map[string]bool{"portMappings": true}}
}

// containerID is the ID cnitool gives a namespace path.
func containerID(nsPath string) string {
	s := sha512.Sum512([]byte(nsPath))
	return fmt.Sprintf("cnitool-%x", s[:10])
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveHello answers every connection to port in ns with "hello".
func serveHello(t *testing.T, ns string, port int) {
	t.Helper()
	var ln net.Listener
	if err := nsutil.Do(nstest.Path(ns), func() (err error) { ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port)); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
}

func readFrom(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func endpoints(t *testing.T, l *live, network string) []api.Endpoint {
	t.Helper()
	eps, err := l.c.Endpoints(context.Background(), network)
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// TestCnitoolLifecycle drives the plugin with the reference client: ADD
// (network created on first use, port mapping published), CHECK, STATUS,
// DEL twice, then STATUS and DEL with the daemon stopped.
func TestCnitoolLifecycle(t *testing.T) {
	l := startDaemon(t)
	ns := nstest.NewNetns(t)
	nsPath := nstest.Path(ns)
	hostPort := freePort(t)
	dir := writeConf(t, "sylife", map[string]any{"cniVersion": "1.1.0",
		"plugins": []any{pluginConf(l.sock, "cnilife", "10.216.5.0/24")}})
	capArgs := fmt.Sprintf(`{"portMappings":[{"hostPort":%d,"containerPort":8080,"protocol":"tcp"}]}`, hostPort)

	out, err := cnitool(t, dir, capArgs, "add", "sylife", nsPath)
	if err != nil {
		t.Fatalf("cnitool add: %v\n%s", err, out)
	}
	var res current.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("result %q: %v", out, err)
	}
	eps := endpoints(t, l, "cnilife")
	if len(eps) != 1 || eps[0].Name != cni.EndpointName("sylife", containerID(nsPath), "eth0") {
		t.Fatalf("endpoints after ADD: %+v", eps)
	}
	ep := eps[0]
	if len(res.Interfaces) != 1 || res.Interfaces[0].Sandbox != nsPath || res.Interfaces[0].Name != "eth0" ||
		res.Interfaces[0].Mac != ep.MAC || res.Interfaces[0].Mtu != 1400 {
		t.Errorf("result interfaces %+v, endpoint %+v", res.Interfaces, ep)
	}
	if len(res.IPs) != 1 || res.IPs[0].Address.String() != "10.216.5.2/24" || res.IPs[0].Gateway.String() != "10.216.5.1" ||
		*res.IPs[0].Interface != 0 {
		t.Errorf("result ips %+v", res.IPs)
	}
	if len(res.Routes) != 1 || res.Routes[0].Dst.String() != "0.0.0.0/0" || res.Routes[0].GW.String() != "10.216.5.1" {
		t.Errorf("result routes %+v", res.Routes)
	}
	if len(res.DNS.Nameservers) != 1 || res.DNS.Nameservers[0] != "10.216.5.1" || res.DNS.Domain != "cnilife" {
		t.Errorf("result dns %+v", res.DNS)
	}
	if mtu, _ := nstest.Exec(ns, "cat", "/sys/class/net/eth0/mtu"); mtu != "1400" {
		t.Errorf("eth0 mtu %q in the namespace, want 1400", mtu)
	}
	if o, err := nstest.Exec(ns, "ping", "-c", "1", "-W", "2", "10.216.5.1"); err != nil {
		t.Fatalf("ping the gateway: %v %s", err, o)
	}
	serveHello(t, ns, 8080)
	if got, err := readFrom(fmt.Sprintf("127.0.0.1:%d", hostPort)); err != nil || got != "hello" {
		t.Fatalf("published port %d: %q %v", hostPort, got, err)
	}
	for _, cmd := range []string{"check", "status"} {
		if out, err := cnitool(t, dir, capArgs, cmd, "sylife", nsPath); err != nil {
			t.Fatalf("cnitool %s: %v\n%s", cmd, err, out)
		}
	}
	for i := 0; i < 2; i++ {
		if out, err := cnitool(t, dir, capArgs, "del", "sylife", nsPath); err != nil {
			t.Fatalf("cnitool del #%d: %v\n%s", i+1, err, out)
		}
	}
	if eps := endpoints(t, l, "cnilife"); len(eps) != 0 {
		t.Errorf("endpoints after DEL: %+v", eps)
	}
	if o, _ := nstest.Exec(ns, "ip", "-o", "link"); strings.Contains(o, "eth0") {
		t.Errorf("eth0 still in the namespace after DEL:\n%s", o)
	}
	if ports, err := l.c.Ports(context.Background()); err != nil || len(ports) != 0 {
		t.Errorf("published ports after DEL: %+v %v", ports, err)
	}
	if _, err := readFrom(fmt.Sprintf("127.0.0.1:%d", hostPort)); err == nil {
		t.Error("host port still answers after DEL")
	}

	conf := fmt.Sprintf(`{"cniVersion":"1.1.0","name":"sylife","type":"switchyard","socket":%q,"network":"cnilife"}`, l.sock)
	l.stop()
	for _, tc := range []struct {
		cmd  string
		code int
	}{{"STATUS", 50}, {"DEL", 11}} {
		out, ok := plugin(t, tc.cmd, conf, nsPath, containerID(nsPath))
		var e struct{ Code int }
		if ok || json.Unmarshal([]byte(out), &e) != nil || e.Code != tc.code {
			t.Errorf("%s with the daemon down: ok=%v %q, want error code %d", tc.cmd, ok, out, tc.code)
		}
	}
}

// TestAddBadInputLeavesNothing checks that refused ADDs leave no endpoint
// or network behind and answer with a CNI error.
func TestAddBadInputLeavesNothing(t *testing.T) {
	l := startDaemon(t)
	ns := nstest.NewNetns(t)
	for _, tc := range []struct {
		name, conf, netns string
		code              int
	}{
		{"no netns", `{"cniVersion":"1.1.0","name":"b","network":"cnibad","subnet":"10.216.6.0/24","socket":%q}`,
			"/var/run/netns/sytest-none-such", 999},
		{"no network", `{"cniVersion":"1.1.0","name":"b","network":"cnibad2","socket":%q}`, nstest.Path(ns), 7},
		{"bad mtu", `{"cniVersion":"1.1.0","name":"b","network":"cnibad","mtu":9,"socket":%q}`, nstest.Path(ns), 7},
		{"not json", `{"cniVersion":"1.1.0", %q`, nstest.Path(ns), 6},
		{"port 0", `{"cniVersion":"1.1.0","name":"b","network":"cnibad","subnet":"10.216.6.0/24","socket":%q,
			"runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":1}]}}`, nstest.Path(ns), 7},
	} {
		out, ok := plugin(t, "ADD", fmt.Sprintf(tc.conf, l.sock), tc.netns, "c1")
		var e struct {
			Code int
			Msg  string
		}
		if ok || json.Unmarshal([]byte(out), &e) != nil || e.Code != tc.code || e.Msg == "" {
			t.Errorf("%s: ok=%v %q, want error code %d with a message", tc.name, ok, out, tc.code)
		}
	}
	if eps := endpoints(t, l, ""); len(eps) != 0 {
		t.Errorf("endpoints after refused ADDs: %+v", eps)
	}
}
