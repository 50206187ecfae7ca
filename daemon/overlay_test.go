package daemon

import (
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
)

func TestPlanOverlay(t *testing.T) {
	d := &Daemon{}
	cases := []struct {
		name string
		req  api.NetworkCreate
		vni  uint32
		port int
		err  string
	}{
		{"bridge", api.NetworkCreate{}, 0, 0, ""},
		{"explicit bridge", api.NetworkCreate{Driver: "bridge"}, 0, 0, ""},
		{"overlay defaults", api.NetworkCreate{Driver: "overlay"}, 4096, 4789, ""},
		{"overlay set", api.NetworkCreate{Driver: "overlay", VNI: 42, VXLANPort: 8472, Peers: []string{"192.0.2.1"}}, 42, 8472, ""},
		{"unknown driver", api.NetworkCreate{Driver: "macvlan"}, 0, 0, "unknown driver"},
		{"vni on bridge", api.NetworkCreate{VNI: 5}, 0, 0, "need --driver overlay"},
		{"peer on bridge", api.NetworkCreate{Peers: []string{"192.0.2.1"}}, 0, 0, "need --driver overlay"},
		{"vni too big", api.NetworkCreate{Driver: "overlay", VNI: 1 << 24}, 0, 0, "out of range"},
		{"bad port", api.NetworkCreate{Driver: "overlay", VXLANPort: 70000}, 0, 0, "out of range"},
		{"vlan", api.NetworkCreate{Driver: "overlay", VLAN: 3}, 0, 0, "VLAN"},
		{"ipv6 peer", api.NetworkCreate{Driver: "overlay", Peers: []string{"2001:db8::1"}}, 0, 0, "IPv4 unicast"},
		{"bad peer", api.NetworkCreate{Driver: "overlay", Peers: []string{"host"}}, 0, 0, "IPv4 unicast"},
		{"multicast peer", api.NetworkCreate{Driver: "overlay", Peers: []string{"239.1.1.1"}}, 0, 0, "IPv4 unicast"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ov, err := d.planOverlay(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v, want ErrInvalid containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.vni == 0 {
				if ov != nil {
					t.Fatalf("bridge network got an overlay: %+v", ov)
				}
				return
			}
			if ov.vni != tc.vni || ov.port != tc.port || len(ov.peers) != len(tc.req.Peers) {
				t.Fatalf("overlay %+v, want vni %d port %d", ov, tc.vni, tc.port)
			}
		})
	}
}

func TestClusterConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  string
		err  string
	}{
		{"none", `{}`, ""},
		{"store", `{"cluster_store": "etcd://10.0.0.1:2379", "cluster_advertise": "10.0.0.2", "cluster_ttl": "5s"}`, ""},
		{"two endpoints", `{"cluster_store": "etcd://10.0.0.1:2379,10.0.0.3:2379", "cluster_advertise": "10.0.0.2"}`, ""},
		{"no advertise", `{"cluster_store": "etcd://10.0.0.1:2379"}`, "cluster_advertise"},
		{"ipv6 advertise", `{"cluster_store": "etcd://10.0.0.1:2379", "cluster_advertise": "2001:db8::2"}`, "cluster_advertise"},
		{"consul", `{"cluster_store": "consul://10.0.0.1:8500", "cluster_advertise": "10.0.0.2"}`, "only etcd"},
		{"ttl", `{"cluster_store": "etcd://10.0.0.1:2379", "cluster_advertise": "10.0.0.2", "cluster_ttl": "1m"}`, "cluster_ttl"},
		{"advertise alone", `{"cluster_advertise": "10.0.0.2"}`, "need cluster_store"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.cfg))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("ParseConfig: %v, want error containing %q", err, tc.err)
			}
		})
	}
}

func TestAnycastMACAndGARP(t *testing.T) {
	m := anycastMAC(0x123456)
	if m.String() != "02:53:59:12:34:56" || m[0]&1 != 0 || m[0]&2 == 0 {
		t.Fatalf("anycast MAC %s: want a locally administered unicast address ending in the VNI", m)
	}
	mac := net.HardwareAddr{2, 1, 2, 3, 4, 5}
	f := garpFrame(mac, netip.MustParseAddr("10.1.2.3"))
	want := "ffffffffffff020102030405080600010800060400010201020304050a010203000000000000" + "0a010203"
	if got := hex.EncodeToString(f); got != want {
		t.Fatalf("gratuitous ARP\n got %s\nwant %s", got, want)
	}
}
