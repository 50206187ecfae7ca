package dockerplugin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
)

// fakeDaemon records requests; it holds no kernel state.
type fakeDaemon struct {
	nets      []api.Network
	inUse     map[string]bool
	published []string
}

var _ Daemon = (*fakeDaemon)(nil)

func (f *fakeDaemon) CreateNetwork(r api.NetworkCreate) (api.Network, error) {
	n := api.Network{Name: r.Name, Subnet: r.Subnet, Gateway: r.Gateway, VLAN: r.VLAN, MTU: r.MTU, Driver: r.Driver,
		VNI: r.VNI, VXLANPort: r.VXLANPort, Peers: r.Peers}
	f.nets = append(f.nets, n)
	return n, nil
}
func (f *fakeDaemon) RemoveNetwork(string) error  { return nil }
func (f *fakeDaemon) Networks() []api.Network     { return f.nets }
func (f *fakeDaemon) Detach(string, string) error { return nil }
func (f *fakeDaemon) Attach(string, api.EndpointCreate) (api.Endpoint, error) {
	return api.Endpoint{}, nil
}
func (f *fakeDaemon) Endpoints(string) ([]api.Endpoint, error) { return nil, nil }
func (f *fakeDaemon) Publish(_ string, r api.PublishRequest) (api.Published, error) {
	f.published = append(f.published, r.Spec)
	return api.Published{}, nil
}
func (f *fakeDaemon) Unpublish(string, string) error { return nil }
func (f *fakeDaemon) AddressInUse(_ string, a netip.Addr) (bool, error) {
	return f.inUse[a.String()], nil
}

// post calls a plugin method and decodes the reply; it returns the
// status.
func post(t *testing.T, h http.Handler, method string, in, out any) int {
	t.Helper()
	b, _ := json.Marshal(in)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/"+method, bytes.NewReader(b)))
	if ct := rec.Header().Get("Content-Type"); ct != contentType {
		t.Errorf("%s: content type %q", method, ct)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s: reply %q: %v", method, rec.Body.String(), err)
		}
	}
	return rec.Code
}

func TestActivateAndCapabilities(t *testing.T) {
	h := New(&fakeDaemon{}, Config{}).Handler()
	var act activateResponse
	if post(t, h, "Plugin.Activate", nil, &act); strings.Join(act.Implements, ",") != "NetworkDriver,IpamDriver" {
		t.Errorf("Activate: %+v", act)
	}
	var caps capabilitiesResponse
	if post(t, h, "NetworkDriver.GetCapabilities", nil, &caps); caps.Scope != "local" {
		t.Errorf("capabilities: %+v", caps)
	}
}

// TestIPAMRules follows the calls dockerd makes: pool, gateway, container
// addresses (lowest free, skipping the network's own, --ip honoured, no
// address twice, released ones reused).
func TestIPAMRules(t *testing.T) {
	f := &fakeDaemon{inUse: map[string]bool{"10.5.0.3": true}}
	h := New(f, Config{}).Handler()
	var pool requestPoolResponse
	if code := post(t, h, "IpamDriver.RequestPool", requestPoolRequest{Pool: "10.5.0.0/24"}, &pool); code != 200 {
		t.Fatalf("RequestPool: %d", code)
	}
	if code := post(t, h, "IpamDriver.RequestPool", requestPoolRequest{Pool: "10.5.0.0/24"}, nil); code != 500 {
		t.Errorf("the same pool twice: %d", code)
	}
	f.nets = []api.Network{{Name: "n", Subnet: "10.5.0.0/24"}}
	for _, tc := range []struct {
		req  requestAddressRequest
		want string // "" for an error
	}{
		{requestAddressRequest{Options: map[string]string{optAddressType: gatewayType}}, "10.5.0.1/24"},
		{requestAddressRequest{}, "10.5.0.2/24"},
		{requestAddressRequest{}, "10.5.0.4/24"}, // .3 is the network's
		{requestAddressRequest{Address: "10.5.0.50"}, "10.5.0.50/24"},
		{requestAddressRequest{Address: "10.5.0.50"}, ""},
		{requestAddressRequest{Address: "10.6.0.1"}, ""},
		{requestAddressRequest{Address: "nonsense"}, ""},
		{requestAddressRequest{Options: map[string]string{optAddressType: gatewayType}}, ""},
	} {
		tc.req.PoolID = pool.PoolID
		var got requestAddressResponse
		code := post(t, h, "IpamDriver.RequestAddress", tc.req, &got)
		if tc.want == "" && code != 500 || tc.want != "" && got.Address != tc.want {
			t.Errorf("RequestAddress %+v: %d %+v, want %q", tc.req, code, got, tc.want)
		}
	}
	post(t, h, "IpamDriver.ReleaseAddress", releaseAddressRequest{PoolID: pool.PoolID, Address: "10.5.0.2"}, nil)
	var again requestAddressResponse
	if post(t, h, "IpamDriver.RequestAddress", requestAddressRequest{PoolID: pool.PoolID}, &again); again.Address != "10.5.0.2/24" {
		t.Errorf("released address not reused: %+v", again)
	}
	for _, bad := range []requestPoolRequest{{}, {Pool: "10.7.0.0/33"}, {Pool: "10.7.0.1/24"}, {Pool: "fd00::/64", V6: true},
		{Pool: "10.7.0.0/24", SubPool: "10.7.0.0/25"}} {
		var e errorResponse
		if code := post(t, h, "IpamDriver.RequestPool", bad, &e); code != 500 || e.Err == "" {
			t.Errorf("RequestPool %+v: %d %+v, want an error", bad, code, e)
		}
	}
}

func TestPortBindings(t *testing.T) {
	for _, tc := range []struct {
		pb   portBinding
		want string // "" for an error
	}{
		{portBinding{Proto: 6, Port: 80, HostPort: 8080}, "8080:ep:80/tcp"},
		{portBinding{Proto: 17, Port: 53, HostPort: 5353, HostIP: "127.0.0.1"}, "127.0.0.1:5353:ep:53/udp"},
		{portBinding{Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8090, HostIP: "0.0.0.0"}, "8080:ep:80/tcp"},
		{portBinding{Proto: 6, Port: 80}, ""},
		{portBinding{Proto: 132, Port: 80, HostPort: 80}, ""},
		{portBinding{Proto: 6, Port: 80, HostPort: 80, HostIP: "x"}, ""},
		{portBinding{Proto: 6, Port: 70000, HostPort: 80}, ""},
	} {
		got, err := tc.pb.spec("ep")
		if tc.want == "" && err == nil || tc.want != "" && got != tc.want {
			t.Errorf("%+v: %q %v, want %q", tc.pb, got, err, tc.want)
		}
	}
}

func TestCreateNetworkOptions(t *testing.T) {
	f := &fakeDaemon{}
	h := New(f, Config{}).Handler()
	v4 := []ipamData{{Pool: "10.5.0.0/24", Gateway: "10.5.0.1/24"}}
	ok := createNetworkRequest{NetworkID: "0123456789abcdef", IPv4Data: v4,
		Options: map[string]any{optGeneric: map[string]any{optVLAN: "7", optMTU: "1400", "other.option": "x"}}}
	if code := post(t, h, "NetworkDriver.CreateNetwork", ok, nil); code != 200 || len(f.nets) != 1 ||
		!reflect.DeepEqual(f.nets[0], api.Network{Name: "docker-0123456789ab", Subnet: "10.5.0.0/24", Gateway: "10.5.0.1", VLAN: 7, MTU: 1400}) {
		t.Fatalf("CreateNetwork: %d %+v", code, f.nets)
	}
	for _, opts := range []map[string]any{{optVLAN: "4095"}, {optMTU: "10"}, {"switchyard.bogus": "true"}} {
		req := createNetworkRequest{NetworkID: "x", IPv4Data: v4, Options: map[string]any{optGeneric: opts}}
		if code := post(t, h, "NetworkDriver.CreateNetwork", req, nil); code != 500 {
			t.Errorf("options %v accepted", opts)
		}
	}
}

// FuzzPluginCalls sends arbitrary bodies to the methods that touch no
// kernel state: every reply is 200 or 500 with a JSON body.
func FuzzPluginCalls(f *testing.F) {
	methods := []string{"Plugin.Activate", "NetworkDriver.CreateNetwork", "NetworkDriver.ProgramExternalConnectivity",
		"IpamDriver.RequestPool", "IpamDriver.RequestAddress", "IpamDriver.ReleaseAddress", "IpamDriver.ReleasePool"}
	f.Add(uint8(1), []byte(`{"NetworkID":"n","IPv4Data":[{"Pool":"10.1.0.0/24","Gateway":"10.1.0.1/24"}]}`))
	f.Add(uint8(2), []byte(`{"EndpointID":"e","Options":{"com.docker.network.portmap":[{"Proto":6,"Port":80,"HostPort":8080}]}}`))
	f.Add(uint8(3), []byte(`{"Pool":"10.2.0.0/24"}`))
	f.Add(uint8(4), []byte(`{"PoolID":"switchyard/10.2.0.0/24","Address":"10.2.0.9"}`))
	f.Fuzz(func(t *testing.T, m uint8, body []byte) {
		h := New(&fakeDaemon{}, Config{}).Handler()
		post(t, h, "IpamDriver.RequestPool", requestPoolRequest{Pool: "10.2.0.0/24"}, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/"+methods[int(m)%len(methods)], bytes.NewReader(body)))
		if rec.Code != 200 && rec.Code != 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("reply %d %q", rec.Code, rec.Body.String())
		}
	})
}

func TestNames(t *testing.T) {
	for _, id := range []string{"", "x", "0123456789abcdef0123"} {
		if n := tapName(id); len(n) > 15 {
			t.Errorf("tap name %q longer than 15 bytes", n)
		}
		_ = NetworkName(id) + EndpointName(id)
	}
	if EndpointName("0123456789abcdef") != "docker-0123456789ab" {
		t.Error(EndpointName("0123456789abcdef"))
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := SocketPath(DefaultDir, bad); err == nil {
			t.Errorf("plugin name %q accepted", bad)
		}
	}
	if p, err := SocketPath("/d", "switchyard"); err != nil || p != "/d/switchyard.sock" {
		t.Errorf("SocketPath: %q %v", p, err)
	}
}

// TestNetworkNameAndOverlay: switchyard.name uses an existing network
// with the same subnet (left at removal), or creates it; overlay options
// reach the request.
func TestNetworkNameAndOverlay(t *testing.T) {
	f := &fakeDaemon{nets: []api.Network{{Name: "shared", Subnet: "10.5.0.0/24"}}}
	s := New(f, Config{})
	h := s.Handler()
	v4 := func(p string) []ipamData { return []ipamData{{Pool: p}} }
	gen := func(kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return map[string]any{optGeneric: m}
	}
	for _, tc := range []struct {
		req  createNetworkRequest
		code int
	}{
		{createNetworkRequest{NetworkID: "adopt", IPv4Data: v4("10.5.0.0/24"), Options: gen(optName, "shared")}, 200},
		{createNetworkRequest{NetworkID: "clash", IPv4Data: v4("10.6.0.0/24"), Options: gen(optName, "shared")}, 500},
		{createNetworkRequest{NetworkID: "ov", IPv4Data: v4("10.7.0.0/24"),
			Options: gen(optName, "ov1", optOverlay, "true", optVNI, "5000", optVXLANPort, "4790", optPeers, "192.0.2.1,192.0.2.2")}, 200},
		{createNetworkRequest{NetworkID: "x", IPv4Data: v4("10.8.0.0/24"), Options: gen(optOverlay, "maybe")}, 500},
		{createNetworkRequest{NetworkID: "x", IPv4Data: v4("10.8.0.0/24"), Options: gen(optVNI, "-1")}, 500},
	} {
		if code := post(t, h, "NetworkDriver.CreateNetwork", tc.req, nil); code != tc.code {
			t.Errorf("CreateNetwork %+v: %d, want %d", tc.req.Options, code, tc.code)
		}
	}
	if s.netName("adopt") != "shared" || s.netName("ov") != "ov1" || s.netName("other") != NetworkName("other") {
		t.Errorf("names: %q %q %q", s.netName("adopt"), s.netName("ov"), s.netName("other"))
	}
	if len(f.nets) != 2 || f.nets[1].Name != "ov1" || f.nets[1].Driver != api.DriverOverlay || f.nets[1].VNI != 5000 ||
		f.nets[1].VXLANPort != 4790 || len(f.nets[1].Peers) != 2 {
		t.Fatalf("networks: %+v", f.nets)
	}
	var removed []string
	f2 := &removeRecorder{fakeDaemon: f, removed: &removed}
	s.d = f2
	post(t, h, "NetworkDriver.DeleteNetwork", networkRequest{NetworkID: "adopt"}, nil)
	post(t, h, "NetworkDriver.DeleteNetwork", networkRequest{NetworkID: "ov"}, nil)
	if strings.Join(removed, ",") != "ov1" {
		t.Errorf("removed %v, want only ov1 (shared was not created for Docker)", removed)
	}
}

type removeRecorder struct {
	*fakeDaemon
	removed *[]string
}

func (r *removeRecorder) RemoveNetwork(name string) error {
	*r.removed = append(*r.removed, name)
	return nil
}
