package cni

import (
	"errors"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		err        string // "" when valid
	}{
		{"minimal", `{"cniVersion":"1.1.0","name":"n","type":"switchyard","network":"blue"}`, ""},
		{"full", `{"cniVersion":"1.1.0","name":"n","type":"switchyard","network":"blue","socket":"/s","subnet":"10.1.0.0/24",
			"gateway":"10.1.0.1","vlan":5,"mtu":1400,"runtimeConfig":{"ips":["10.1.0.9/24"],
			"portMappings":[{"hostPort":80,"containerPort":8080,"protocol":"UDP","hostIP":"127.0.0.1"}]}}`, ""},
		{"not json", `{"network":`, "unexpected end"},
		{"no network", `{"cniVersion":"1.1.0","name":"n"}`, "network is required"},
		{"bad subnet", `{"network":"b","subnet":"10.1.0.0/40"}`, "subnet"},
		{"bad gateway", `{"network":"b","gateway":"x"}`, "gateway"},
		{"vlan", `{"network":"b","vlan":4095}`, "vlan 4095"},
		{"mtu low", `{"network":"b","mtu":67}`, "mtu 67"},
		{"mtu high", `{"network":"b","mtu":70000}`, "mtu 70000"},
		{"bad ip", `{"network":"b","runtimeConfig":{"ips":["10.1.0.300"]}}`, "ips"},
		{"proto", `{"network":"b","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":1,"protocol":"sctp"}]}}`, "sctp"},
		{"port 0", `{"network":"b","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":1}]}}`, "out of range"},
		{"port big", `{"network":"b","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":65536}]}}`, "out of range"},
		{"host ip", `{"network":"b","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":1,"hostIP":"::g"}]}}`, "hostIP"},
		{"prevResult", `{"cniVersion":"1.1.0","network":"b","prevResult":{"interfaces":[{"name":"x"}],"ips":[{"address":"nonsense"}]}}`, "prevResult"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.conf))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if c.Socket == "" {
					t.Error("no default socket")
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ParseConfig error %v, want ErrConfig containing %q", err, tc.err)
			}
		})
	}
}

func TestPortMappingSpec(t *testing.T) {
	for _, tc := range []struct {
		m    PortMapping
		want string
	}{
		{PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, "8080:ep:80/tcp"},
		{PortMapping{HostPort: 53, ContainerPort: 5353, Protocol: "udp", HostIP: "127.0.0.1"}, "127.0.0.1:53:ep:5353/udp"},
		{PortMapping{HostPort: 1, ContainerPort: 2, Protocol: "tcp", HostIP: "0.0.0.0"}, "1:ep:2/tcp"},
		{PortMapping{HostPort: 1, ContainerPort: 2, Protocol: "tcp", HostIP: "::1"}, "[::1]:1:ep:2/tcp"},
	} {
		if got := tc.m.spec("ep"); got != tc.want {
			t.Errorf("%+v: spec %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestEndpointName(t *testing.T) {
	a := EndpointName("net", "c1", "eth0")
	for _, other := range []string{EndpointName("net", "c1", "eth1"), EndpointName("net", "c2", "eth0"),
		EndpointName("net2", "c1", "eth0")} {
		if other == a {
			t.Fatalf("names collide: %s", a)
		}
	}
	if a != EndpointName("net", "c1", "eth0") || !strings.HasPrefix(a, namePrefix("net")) || len(a) != 29 {
		t.Fatalf("name %q not stable, prefixed and 29 bytes", a)
	}
}

// FuzzParseConfig feeds arbitrary stdin to the parser: it must not panic,
// and what it accepts must satisfy the checks.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"cniVersion":"1.1.0","name":"n","type":"switchyard","network":"blue","mtu":1400}`))
	f.Add([]byte(`{"network":"b","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":1,"protocol":"UDP"}]}}`))
	f.Add([]byte(`{"cniVersion":"1.0.0","network":"b","prevResult":{"ips":[{"address":"10.0.0.2/24","interface":0}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.Network == "" || c.VLAN > 4094 || (c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535)) {
			t.Fatalf("accepted invalid config %+v", c)
		}
		for _, m := range c.RuntimeConfig.PortMappings {
			if m.Protocol != "tcp" && m.Protocol != "udp" {
				t.Fatalf("accepted protocol %q", m.Protocol)
			}
			_ = m.spec("ep")
		}
	})
}
