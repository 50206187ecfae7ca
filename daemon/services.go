package daemon

import (
	"net"

	"github.com/switchyard/switchyard/gateway"
)

// services are a network's DHCP and DNS servers.
type services struct{}

func (d *Daemon) newServices(n *network, mac net.HardwareAddr) (*services, error) {
	return &services{}, nil
}

func (s *services) dhcpHandler() func([]byte) ([]byte, bool) { return nil }

func (s *services) dnsServer() gateway.DNSServer { return nil }

func (s *services) close() {}
