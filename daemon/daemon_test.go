package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/port"
	"github.com/switchyard/switchyard/tap"
)

// fakeDev is a port.Fake with a MAC, standing in for a TAP device.
type fakeDev struct {
	*port.Fake
	mac net.HardwareAddr
	cfg tap.Config
}

func (f *fakeDev) MAC() net.HardwareAddr { return f.mac }

// fakeOpener records opened devices and can be told to fail.
type fakeOpener struct {
	opened     []*fakeDev
	fail       error
	hasDefault bool           // the namespace has a default route of its own
	moved      []string       // default routes set on detach
	sources    map[string]int // source rules: address -> table
	removed    []string       // leftover TAPs removed: "netns ifname"
}

func (o *fakeOpener) open(c tap.Config) (Device, error) {
	if o.fail != nil {
		return nil, o.fail
	}
	mac := c.MAC
	if mac == nil {
		mac = net.HardwareAddr{2, 0, 0, 0, 0, byte(len(o.opened) + 1)}
	}
	d := &fakeDev{Fake: port.NewFake(port.Info{Name: c.Name, MTU: c.MTU}, false), mac: mac, cfg: c}
	o.opened = append(o.opened, d)
	return d, nil
}

// selfNS is a network namespace file any user can name.
const selfNS = "/proc/self/ns/net"

func newTestDaemon(t *testing.T) (*Daemon, *fakeOpener) {
	t.Helper()
	// The fake devices never open the namespace: let them use ours.
	saved := selfNetns
	selfNetns = func() (nsKey, error) { return nsKey{}, errors.New("not checked in unit tests") }
	t.Cleanup(func() { selfNetns = saved })
	o := &fakeOpener{sources: map[string]int{}}
	d, err := newDaemon(Config{}, o.open, o.routes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, o
}

// routes are routeOps that record what they are asked in o.
func (o *fakeOpener) routes() routeOps {
	return routeOps{
		hasDefault: func(string) bool { return o.hasDefault },
		setDefault: func(_, ifname string, gw netip.Addr) error {
			o.moved = append(o.moved, ifname+" via "+gw.String())
			return nil
		},
		addSource: func(_, _ string, addr netip.Prefix, _ netip.Addr) (int, error) {
			o.sources[addr.Addr().String()] = 100 + len(o.sources)
			return o.sources[addr.Addr().String()], nil
		},
		delSource: func(_ string, addr netip.Addr, table int) error {
			if table != 0 && o.sources[addr.String()] != table {
				return fmt.Errorf("no source rule from %s lookup %d", addr, table)
			}
			delete(o.sources, addr.String())
			return nil
		},
		removeTAP: func(nsPath, ifname string) (bool, error) {
			o.removed = append(o.removed, nsPath+" "+ifname)
			return true, nil
		},
	}
}

func TestDefaultNetworkAndCreate(t *testing.T) {
	d, _ := newTestDaemon(t)
	ns := d.Networks()
	if len(ns) != 1 || ns[0].Name != "default" || ns[0].Subnet != "10.90.0.0/24" || ns[0].Gateway != "10.90.0.1" {
		t.Fatalf("default network: %+v", ns)
	}
	n, err := d.CreateNetwork(api.NetworkCreate{Name: "blue", Subnet: "10.91.0.0/24"})
	if err != nil || n.Gateway != "10.91.0.1" {
		t.Fatalf("create: %+v %v", n, err)
	}
	cases := []struct {
		req  api.NetworkCreate
		want error
		msg  string
	}{
		{api.NetworkCreate{Name: "blue", Subnet: "10.92.0.0/24"}, ErrConflict, "already exists"},
		{api.NetworkCreate{Name: "red", Subnet: "10.91.0.128/25"}, ErrConflict, "overlaps"},
		{api.NetworkCreate{Name: "red", Subnet: "10.93.0.0/33"}, ErrInvalid, "bad subnet"},
		{api.NetworkCreate{Name: "red", Subnet: "10.93.0.1/24"}, ErrInvalid, "host bits"},
		{api.NetworkCreate{Name: "red", Subnet: "10.93.0.0/24", Gateway: "10.94.0.1"}, ErrInvalid, "outside"},
		{api.NetworkCreate{Name: "red", Subnet: "10.93.0.0/24", Gateway: "x"}, ErrInvalid, "bad gateway"},
		{api.NetworkCreate{Name: "red", Subnet: "10.93.0.0/24", VLAN: 4095}, ErrInvalid, "bad vlan"},
		{api.NetworkCreate{Name: "bad/name", Subnet: "10.93.0.0/24"}, ErrInvalid, "invalid network name"},
		{api.NetworkCreate{Name: "red"}, ErrInvalid, "--subnet is required"},
	}
	for _, tc := range cases {
		_, err := d.CreateNetwork(tc.req)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("create %+v: %v, want %v containing %q", tc.req, err, tc.want, tc.msg)
		}
	}
	if err := d.RemoveNetwork("default"); !errors.Is(err, ErrConflict) {
		t.Errorf("removing the default network: %v", err)
	}
	if err := d.RemoveNetwork("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing an unknown network: %v", err)
	}
	if err := d.RemoveNetwork("blue"); err != nil {
		t.Fatal(err)
	}
}

func TestVLANNetworksShareOneSwitch(t *testing.T) {
	d, _ := newTestDaemon(t)
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "v10", Subnet: "10.10.0.0/24", VLAN: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "v20", Subnet: "10.20.0.0/24", VLAN: 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "v10b", Subnet: "10.30.0.0/24", VLAN: 10}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second network on VLAN 10: %v", err)
	}
	if d.networks["v10"].sw != d.networks["v20"].sw {
		t.Fatal("VLAN networks do not share the trunk-capable switch")
	}
}

func TestAttachAllocatesAndReuses(t *testing.T) {
	d, o := newTestDaemon(t)
	ep, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if ep.IP != "10.90.0.2/24" || !ep.DefaultRoute || o.opened[0].cfg.Gateway.String() != "10.90.0.1" {
		t.Fatalf("first endpoint: %+v (gateway %v)", ep, o.opened[0].cfg.Gateway)
	}
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "blue", Subnet: "10.91.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	ep2, err := d.Attach("blue", api.EndpointCreate{Netns: selfNS, Name: "a", IP: "10.91.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	if ep2.DefaultRoute || o.opened[1].cfg.Gateway.IsValid() || ep2.IfName == ep.IfName {
		t.Fatalf("second network of the same netns: %+v", ep2)
	}
	if err := d.Detach("default", "a"); err != nil {
		t.Fatal(err)
	}
	if !o.opened[0].Closed() {
		t.Fatal("detach did not close the device")
	}
	ep3, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "b"})
	if err != nil || ep3.IP != "10.90.0.2/24" {
		t.Fatalf("released address not reused: %+v %v", ep3, err)
	}
	eps, _ := d.Endpoints("")
	if len(eps) != 2 {
		t.Fatalf("endpoints: %+v", eps)
	}
}

func TestAttachBadInputLeavesNothing(t *testing.T) {
	d, o := newTestDaemon(t)
	if _, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "a", IP: "10.90.0.5", MAC: "02:00:00:00:00:09"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		network string
		req     api.EndpointCreate
		want    error
		msg     string
	}{
		{"nope", api.EndpointCreate{Netns: selfNS}, ErrNotFound, "network \"nope\" not found"},
		{"default", api.EndpointCreate{Netns: "no-such-netns-xyz"}, ErrInvalid, "no-such-netns-xyz"},
		{"default", api.EndpointCreate{}, ErrInvalid, "namespace is required"},
		{"default", api.EndpointCreate{Netns: selfNS, Name: "a"}, ErrConflict, "already exists"},
		{"default", api.EndpointCreate{Netns: selfNS, Name: "b"}, ErrConflict, "already attached"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b", IP: "10.90.0.5"}, ErrConflict, "in use"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b"}, ErrConflict, "already attached"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b", IP: "10.99.0.5"}, ErrInvalid, "outside the subnet"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b", IP: "banana"}, ErrInvalid, "bad IP"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b", MAC: "zz"}, ErrInvalid, "bad MAC"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b", MAC: "02:00:00:00:00:09"}, ErrConflict, "used by endpoint"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "b", MTU: 10}, ErrInvalid, "MTU"},
		{"default", api.EndpointCreate{Netns: "/proc/thread-self/ns/net", Name: "-b"}, ErrInvalid, "invalid endpoint name"},
	}
	for _, tc := range cases {
		_, err := d.Attach(tc.network, tc.req)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("attach %s %+v: %v, want %v containing %q", tc.network, tc.req, err, tc.want, tc.msg)
		}
	}
	// A failing device open releases the address it had reserved.
	o.fail = errors.New("boom")
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "blue", Subnet: "10.91.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Attach("blue", api.EndpointCreate{Netns: selfNS, Name: "b", IP: "10.91.0.6"}); err == nil {
		t.Fatal("attach with a failing opener succeeded")
	}
	if d.networks["blue"].pool.InUse(mustAddr("10.91.0.6")) {
		t.Fatal("failed attach kept its address")
	}
	if len(o.opened) != 1 {
		t.Fatalf("%d devices opened, want 1", len(o.opened))
	}
}

func TestDefaultRoute(t *testing.T) {
	d, o := newTestDaemon(t)
	if _, err := d.CreateNetwork(api.NetworkCreate{Name: "blue", Subnet: "10.91.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	ep2, err := d.Attach("blue", api.EndpointCreate{Netns: selfNS, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// Detaching the network with the default route hands it to blue.
	if err := d.Detach("default", "a"); err != nil {
		t.Fatal(err)
	}
	want := ep2.IfName + " via 10.91.0.1"
	if len(o.moved) != 1 || o.moved[0] != want {
		t.Fatalf("default route moves: %v, want [%s]", o.moved, want)
	}
	if eps, _ := d.Endpoints("blue"); !eps[0].DefaultRoute {
		t.Fatal("blue endpoint does not report the default route")
	}
	if len(o.sources) != 1 || ep2.SourceTable == 0 {
		t.Fatalf("source rules %v (blue's table %d), want blue's alone", o.sources, ep2.SourceTable)
	}
	// A namespace with a default route of its own keeps it.
	d.Detach("blue", "a")
	if len(o.sources) != 0 {
		t.Fatalf("source rules left after detach: %v", o.sources)
	}
	o.hasDefault = true
	ep, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "b"})
	if err != nil || ep.DefaultRoute || o.opened[len(o.opened)-1].cfg.Gateway.IsValid() {
		t.Fatalf("attach into a namespace with a default route: %+v %v", ep, err)
	}
	if ep.SourceTable == 0 || len(o.sources) != 1 {
		t.Fatalf("endpoint beside a foreign default route has no source rule: %+v %v", ep, o.sources)
	}
}

func TestVanishedPortIsReaped(t *testing.T) {
	d, o := newTestDaemon(t)
	if _, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "a", IP: "10.90.0.9"}); err != nil {
		t.Fatal(err)
	}
	o.opened[0].Close() // as when the namespace is deleted
	deadline := time.Now().Add(3 * time.Second)
	for {
		eps, _ := d.Endpoints("")
		if len(eps) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("endpoint of a closed port was not reaped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d.networks["default"].pool.InUse(mustAddr("10.90.0.9")) {
		t.Fatal("reaped endpoint kept its address")
	}
}

func TestConfigBounds(t *testing.T) {
	for _, body := range []string{
		`{"ageing_time": "5ns"}`, `{"fdb_max": 10000000}`, `{"queue_len": -1}`,
		`{"txqueuelen": 99999999}`, `{"networks": [{"name": "x", "subnet": "nope"}]}`,
	} {
		if _, err := ParseConfig([]byte(body)); err == nil {
			t.Errorf("ParseConfig(%s) accepted it", body)
		}
	}
	if c, err := ParseConfig([]byte(`{"ageing_time": "10m", "fdb_max": 100}`)); err != nil || c.FDBMax != 100 {
		t.Fatalf("good config: %+v %v", c, err)
	}
}
