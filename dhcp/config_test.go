package dhcp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/ipam"
)

func TestNewValidatesConfig(t *testing.T) {
	pool, err := ipam.New(testSubnet, testGateway)
	if err != nil {
		t.Fatal(err)
	}
	base := func() Config {
		return Config{ServerIP: testGateway, ServerMAC: testServerMAC, Subnet: testSubnet, Router: testGateway}
	}
	bad := map[string]func(*Config){
		"no subnet":       func(c *Config) { c.Subnet = netip.Prefix{} },
		"IPv6 subnet":     func(c *Config) { c.Subnet = netip.MustParsePrefix("fd00::/64") },
		"host bits":       func(c *Config) { c.Subnet = netip.MustParsePrefix("10.88.0.1/24") },
		"/31":             func(c *Config) { c.Subnet = netip.MustParsePrefix("10.88.0.0/31") },
		"server outside":  func(c *Config) { c.ServerIP = addr("10.89.0.1") },
		"no server IP":    func(c *Config) { c.ServerIP = netip.Addr{} },
		"short MAC":       func(c *Config) { c.ServerMAC = net.HardwareAddr{1, 2, 3} },
		"router outside":  func(c *Config) { c.Router = addr("192.168.0.1") },
		"IPv6 DNS":        func(c *Config) { c.DNS = []netip.Addr{addr("::1")} },
		"MTU too small":   func(c *Config) { c.MTU = 60 },
		"MTU too big":     func(c *Config) { c.MTU = 70000 },
		"negative lease":  func(c *Config) { c.LeaseTime = -time.Second },
		"sub-second":      func(c *Config) { c.LeaseTime = time.Millisecond },
		"huge lease":      func(c *Config) { c.LeaseTime = 200 * 365 * 24 * time.Hour },
		"long domain":     func(c *Config) { c.Domain = string(make([]byte, 256)) },
		"negative cap":    func(c *Config) { c.MaxLeases = -1 },
		"too many DNS":    func(c *Config) { c.DNS = make([]netip.Addr, 64) },
		"invalid DNS":     func(c *Config) { c.DNS = []netip.Addr{{}} },
		"IPv6 server":     func(c *Config) { c.ServerIP = addr("fd00::1") },
		"IPv6 router":     func(c *Config) { c.Router = addr("fd00::1") },
		"empty MAC slice": func(c *Config) { c.ServerMAC = nil },
	}
	for name, mod := range bad {
		cfg := base()
		mod(&cfg)
		if _, err := New(cfg, pool, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
	if _, err := New(base(), nil, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil pool: err %v", err)
	}

	cfg := base()
	cfg.Router = netip.Addr{}
	s, err := New(cfg, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.LeaseTime != DefaultLeaseTime || s.cfg.MaxLeases != DefaultMaxLeases || s.cfg.Now == nil || s.cfg.Log == nil {
		t.Fatalf("defaults not applied: %+v", s.cfg)
	}
	if s.bcast != addr("10.88.0.255") {
		t.Fatalf("broadcast %s", s.bcast)
	}
}

func TestNoRouterOption(t *testing.T) {
	h := newHarness(t, testSubnet, func(c *Config) { c.Router = netip.Addr{} })
	ack := h.dora(mac(1))
	if ack.msg.Router() != nil {
		t.Fatalf("router option %v on a network without a router", ack.msg.Router())
	}
	if yiaddr(ack) != addr("10.88.0.2") {
		t.Fatalf("got %s", yiaddr(ack))
	}
}
