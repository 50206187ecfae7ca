package cluster

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseStore(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"etcd://127.0.0.1:2379", []string{"http://127.0.0.1:2379"}, true},
		{"etcd://10.0.0.1:2379,10.0.0.2:2379", []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}, true},
		{"etcd://etcd.example:2379", []string{"http://etcd.example:2379"}, true},
		{"consul://10.0.0.1:8500", nil, false},
		{"etcd://10.0.0.1", nil, false},
		{"etcd://10.0.0.1:0", nil, false},
		{"etcd://10.0.0.1:99999", nil, false},
		{"etcd://", nil, false},
		{"etcd://a:1,", nil, false},
	}
	for _, tc := range cases {
		got, err := ParseStore(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseStore(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseStore(%q) error %v does not wrap ErrInvalid", tc.in, err)
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseStore(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseStore(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.1")
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no advertise", Config{Store: "etcd://127.0.0.1:1"}},
		{"ipv6 advertise", Config{Store: "etcd://127.0.0.1:1", Advertise: netip.MustParseAddr("2001:db8::1")}},
		{"unspecified advertise", Config{Store: "etcd://127.0.0.1:1", Advertise: netip.IPv4Unspecified()}},
		{"ttl too long", Config{Store: "etcd://127.0.0.1:1", Advertise: v4, TTL: 30e9}},
		{"bad host name", Config{Store: "etcd://127.0.0.1:1", Advertise: v4, Host: "a/b"}},
		{"bad store", Config{Store: "zk://x:1", Advertise: v4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := Open(tc.cfg); err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			} else if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

// FuzzViewApply feeds arbitrary keys and values (what another host or a
// hostile writer may have put in etcd) to the view: nothing panics and
// listings stay consistent.
func FuzzViewApply(f *testing.F) {
	f.Add("endpoints/n/h/e", []byte(`{"network":"n","name":"e","host":"h","lease":1}`))
	f.Add("hosts/h", []byte(`{"name":"h","lease":1}`))
	f.Add("networks/n", []byte(`{"name":"n","vni":4096}`))
	f.Add("junk", []byte(`{`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		v := newView()
		v.apply("hosts/h", 0, []byte(`{"name":"h","lease":1}`))
		v.apply(key, 0, value)
		for _, e := range v.visible("n") {
			if h, ok := v.hosts[e.Host]; !ok || h.Lease != e.Lease {
				t.Fatalf("visible endpoint %+v without its host's lease", e)
			}
		}
		newView().diff(v, newRecorder())
		v.apply(key, 1, nil)
	})
}
