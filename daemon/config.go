// Package daemon is switchyard's control plane: it owns the networks (one
// switch each), their address pools and endpoints (TAP ports inside network
// namespaces), and serves the HTTP+JSON control API on a unix socket.
package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/switchyard/switchyard/api"
)

// NetworkConfig describes a network to create at start-up.
type NetworkConfig = api.NetworkCreate

// Config is the daemon's configuration; the zero value of a field means
// its default. It is also the format of `switchyard up --config FILE`.
type Config struct {
	// Socket is the control socket path (api.DefaultSocket).
	Socket string `json:"socket,omitempty"`
	// Networks are created at start-up and cannot be removed; nil means
	// the embedded default network (DefaultNetwork).
	Networks []NetworkConfig `json:"networks,omitempty"`
	// AgeingTime is the forwarding table ageing time (300s).
	AgeingTime Duration `json:"ageing_time,omitempty"`
	// FDBMax caps each switch's forwarding table (8192).
	FDBMax int `json:"fdb_max,omitempty"`
	// QueueLen is each port's egress queue length in frames (512).
	QueueLen int `json:"queue_len,omitempty"`
	// PlainTAP opens TAP devices without the virtio-net header (no offloads).
	PlainTAP bool `json:"plain_tap,omitempty"`
	// TxQueueLen is the TAP interfaces' txqueuelen (10000).
	TxQueueLen int `json:"txqueuelen,omitempty"`
	// DNSNames makes the built-in networks resolve endpoint names, as
	// user-defined networks always do (Docker's default bridge does not).
	DNSNames bool `json:"dns_names,omitempty"`
	// ResolvConf is where the host's resolvers are read from
	// (/etc/resolv.conf); names the gateways do not know go there.
	ResolvConf string `json:"resolv_conf,omitempty"`
	// NAT tunes the gateways' NAT; zero fields take nat's defaults.
	UDPIdle  Duration `json:"udp_idle,omitempty"`
	MaxFlows int      `json:"max_flows,omitempty"`
	// DisableKernelPath publishes ports without nftables rules (like
	// dockerd's --iptables=false): `both` is served by the userspace path
	// alone, `kernel` is refused.
	DisableKernelPath bool `json:"disable_kernel_path,omitempty"`
	// ProxyUDPIdle, ProxyMaxFlows and ProxyDialTimeout tune the userspace
	// path of published ports; zero fields take proxy's defaults (90s,
	// 4096 flows per mapping, 10s).
	ProxyUDPIdle     Duration `json:"proxy_udp_idle,omitempty"`
	ProxyMaxFlows    int      `json:"proxy_max_flows,omitempty"`
	ProxyDialTimeout Duration `json:"proxy_dial_timeout,omitempty"`
	// PcapFile, when set, captures every port of every network from
	// start-up to shutdown into this pcapng file.
	PcapFile string `json:"pcap_file,omitempty"`
	// NetnsCheck is how often endpoints' namespaces are checked for
	// existence; endpoints whose namespace is gone are detached (2s).
	NetnsCheck Duration `json:"netns_check,omitempty"`
	// ClusterStore joins a cluster kept in etcd,
	// etcd://HOST:PORT[,HOST:PORT...]: overlay networks then exist on every
	// member and their endpoints reach each other over VXLAN.
	ClusterStore string `json:"cluster_store,omitempty"`
	// ClusterAdvertise is this host's IPv4 underlay address, which other
	// hosts send VXLAN to (required with ClusterStore).
	ClusterAdvertise string `json:"cluster_advertise,omitempty"`
	// ClusterHost names this host in the cluster (the advertise address).
	ClusterHost string `json:"cluster_host,omitempty"`
	// ClusterTTL is the membership lease's TTL (10s, 1s-10s): a dead
	// host's endpoints vanish from the others within it.
	ClusterTTL Duration `json:"cluster_ttl,omitempty"`
	// StateDir, when set, is where the daemon keeps its state (networks,
	// endpoints, published ports, DHCP leases) so a restarted daemon takes
	// over what its predecessor left; endpoint TAPs are then persistent.
	// `switchyard up` defaults it to /var/lib/switchyard; empty keeps no
	// state.
	StateDir string `json:"state_dir,omitempty"`
	// LiveRestore makes Close leave the endpoints (their TAPs, addresses
	// and routes) and the state in place for the next daemon, instead of
	// detaching everything. It needs StateDir.
	LiveRestore bool `json:"live_restore,omitempty"`
	// Log receives the daemon's logs; nil discards them.
	Log *slog.Logger `json:"-"`
}

// DefaultNetwork is the embedded default network `switchyard up` creates.
var DefaultNetwork = NetworkConfig{Name: "default", Subnet: "10.90.0.0/24", Gateway: "10.90.0.1"}

// Duration is a time.Duration that reads and writes as "300s" in JSON.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string such as "5m" or "300s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"300s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// ParseConfig decodes a JSON configuration, refusing unknown fields.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config: %w", decodeError(data, dec, err))
	}
	return c, c.validate()
}

func (c *Config) setDefaults() {
	if c.Socket == "" {
		c.Socket = api.DefaultSocket
	}
	if c.Networks == nil {
		c.Networks = []NetworkConfig{DefaultNetwork}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.ResolvConf == "" {
		c.ResolvConf = "/etc/resolv.conf"
	}
	if c.NetnsCheck == 0 {
		c.NetnsCheck = Duration(DefaultNetnsCheck)
	}
}

// Bounds of the tunables: large enough for any real host, small enough that
// a typo cannot make a table scan or a queue unbounded.
const (
	MinAgeing     = time.Second
	MaxFDB        = 65536
	MaxQueueLen   = 65536
	MaxTxQueueLen = 1 << 20
)

func (c *Config) validate() error {
	switch {
	case c.NetnsCheck < 0 || c.NetnsCheck != 0 && time.Duration(c.NetnsCheck) < 10*time.Millisecond:
		return fmt.Errorf("config: netns_check %s is below 10ms", time.Duration(c.NetnsCheck))
	case c.AgeingTime != 0 && time.Duration(c.AgeingTime) < MinAgeing:
		return fmt.Errorf("config: ageing_time %s is below %s", time.Duration(c.AgeingTime), MinAgeing)
	case c.FDBMax < 0 || c.FDBMax > MaxFDB:
		return fmt.Errorf("config: fdb_max %d out of range [1, %d]", c.FDBMax, MaxFDB)
	case c.QueueLen < 0 || c.QueueLen > MaxQueueLen:
		return fmt.Errorf("config: queue_len %d out of range [1, %d]", c.QueueLen, MaxQueueLen)
	case c.TxQueueLen < 0 || c.TxQueueLen > MaxTxQueueLen:
		return fmt.Errorf("config: txqueuelen %d out of range [1, %d]", c.TxQueueLen, MaxTxQueueLen)
	case c.UDPIdle < 0 || c.ProxyUDPIdle < 0 || c.ProxyDialTimeout < 0:
		return errors.New("config: udp_idle, proxy_udp_idle and proxy_dial_timeout must not be negative")
	case c.MaxFlows < 0 || c.ProxyMaxFlows < 0:
		return errors.New("config: max_flows and proxy_max_flows must not be negative")
	case c.LiveRestore && c.StateDir == "":
		return errors.New("config: live_restore needs a state_dir")
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	for _, n := range c.Networks {
		if _, _, err := parseNetwork(n); err != nil {
			return fmt.Errorf("config: network %q: %w", n.Name, err)
		}
	}
	return nil
}

// parseNetwork checks a network request and returns its subnet and gateway.
func parseNetwork(req api.NetworkCreate) (netip.Prefix, netip.Addr, error) {
	if err := checkName("network", req.Name); err != nil {
		return netip.Prefix{}, netip.Addr{}, err
	}
	if req.Subnet == "" {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("network %q: --subnet is required", req.Name)
	}
	subnet, err := netip.ParsePrefix(req.Subnet)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad subnet %q: %w", req.Subnet, err)
	}
	var gw netip.Addr
	if req.Gateway != "" {
		if gw, err = netip.ParseAddr(req.Gateway); err != nil {
			return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad gateway %q: %w", req.Gateway, err)
		}
	}
	if req.MTU != 0 && (req.MTU < 576 || req.MTU > 65520) {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad mtu %d: valid MTUs are 576-65520", req.MTU)
	}
	if req.VLAN > 4094 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("bad vlan %d: valid IDs are 1-4094", req.VLAN)
	}
	return subnet, gw, nil
}

// checkName accepts names made of letters, digits, '.', '_' and '-',
// starting with a letter or digit, up to 64 bytes (Docker's rule).
func checkName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s name is empty", kind)
	}
	if len(name) > 64 {
		return fmt.Errorf("%s name %q is longer than 64 bytes", kind, name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("invalid %s name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", kind, name)
		}
	}
	return nil
}
