// Package cni is switchyard's CNI plugin (spec 1.1): a container runtime
// execs the switchyard binary with CNI_COMMAND set, and this package turns
// ADD, DEL, CHECK, STATUS and GC into requests to the daemon's control API
// over its unix socket. The endpoint is a normal switchyard endpoint: a TAP
// in the container's namespace on a switchyard network.
package cni

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bad switchyard CNI configuration")

// NetConf is the plugin's network configuration (stdin of every command).
type NetConf struct {
	types.PluginConf
	// Socket is the daemon's control socket (api.DefaultSocket).
	Socket string `json:"socket,omitempty"`
	// Network is the switchyard network endpoints join.
	Network string `json:"network"`
	// Subnet, Gateway, VLAN and MTU create the network when it does not
	// exist yet; without Subnet the network must exist. MTU is also the
	// endpoints' MTU.
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	VLAN    uint16 `json:"vlan,omitempty"`
	MTU     int    `json:"mtu,omitempty"`
	// RuntimeConfig carries the capabilities the runtime filled in.
	RuntimeConfig RuntimeConfig `json:"runtimeConfig,omitempty"`
}

// RuntimeConfig holds the capability arguments the plugin honours.
type RuntimeConfig struct {
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	// IPs (the ips capability) asks for the endpoint's address; only
	// the first is used, as a switchyard endpoint has one.
	IPs []string `json:"ips,omitempty"`
}

// PortMapping is one entry of the portMappings capability (the
// convention the reference portmap plugin uses).
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// ParseConfig decodes and checks a network configuration, and parses its
// prevResult when there is one.
func ParseConfig(data []byte) (*NetConf, error) {
	var c NetConf
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.Socket == "" {
		c.Socket = api.DefaultSocket
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := version.ParsePrevResult(&c.PluginConf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &c, nil
}

func (c *NetConf) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if c.Network == "" {
		return bad("network is required")
	}
	if c.Subnet != "" {
		if _, err := netip.ParsePrefix(c.Subnet); err != nil {
			return bad("subnet %q: %v", c.Subnet, err)
		}
	}
	if c.Gateway != "" {
		if _, err := netip.ParseAddr(c.Gateway); err != nil {
			return bad("gateway %q: %v", c.Gateway, err)
		}
	}
	if c.VLAN > 4094 {
		return bad("vlan %d out of range 0-4094", c.VLAN)
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return bad("mtu %d out of range 68-65535", c.MTU)
	}
	for _, ip := range c.RuntimeConfig.IPs {
		if _, err := parseIP(ip); err != nil {
			return bad("ips: %v", err)
		}
	}
	for i := range c.RuntimeConfig.PortMappings {
		if err := c.RuntimeConfig.PortMappings[i].check(); err != nil {
			return bad("portMappings[%d]: %v", i, err)
		}
	}
	return nil
}

// check validates a mapping and normalises its protocol to lower case.
func (m *PortMapping) check() error {
	m.Protocol = strings.ToLower(m.Protocol)
	switch m.Protocol {
	case "":
		m.Protocol = "tcp"
	case "tcp", "udp":
	default:
		return fmt.Errorf("protocol %q (want tcp or udp)", m.Protocol)
	}
	if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
		return fmt.Errorf("ports %d:%d out of range 1-65535", m.HostPort, m.ContainerPort)
	}
	if m.HostIP != "" {
		if _, err := netip.ParseAddr(m.HostIP); err != nil {
			return fmt.Errorf("hostIP %q: %w", m.HostIP, err)
		}
	}
	return nil
}

// spec is the mapping as a publish request for endpoint.
func (m PortMapping) spec(endpoint string) string {
	s := portmap.Spec{Proto: m.Protocol, HostPort: uint16(m.HostPort), HostEnd: uint16(m.HostPort),
		Endpoint: endpoint, Port: uint16(m.ContainerPort), PortEnd: uint16(m.ContainerPort)}
	if a, err := netip.ParseAddr(m.HostIP); err == nil && !a.IsUnspecified() {
		s.HostIP = a
	}
	return s.String()
}

// parseIP accepts an address with or without a prefix length.
func parseIP(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q: %w", s, err)
	}
	return a, nil
}
