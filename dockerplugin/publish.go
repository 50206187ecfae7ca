package dockerplugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
)

// optPortMap carries `docker run -p` in ProgramExternalConnectivity.
const optPortMap = "com.docker.network.portmap"

// specs turns Docker's port bindings into publish specs for endpoint.
func specs(opts map[string]any, endpoint string) ([]string, error) {
	raw, ok := opts[optPortMap]
	if !ok || raw == nil {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", optPortMap, err)
	}
	var binds []portBinding
	if err := json.Unmarshal(b, &binds); err != nil {
		return nil, fmt.Errorf("%s: %w", optPortMap, err)
	}
	var out []string
	for _, pb := range binds {
		s, err := pb.spec(endpoint)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// spec is one binding as a publish spec.
func (pb portBinding) spec(endpoint string) (string, error) {
	s := portmap.Spec{Endpoint: endpoint}
	switch pb.Proto {
	case 6:
		s.Proto = "tcp"
	case 17:
		s.Proto = "udp"
	default:
		return "", fmt.Errorf("port binding %d: protocol %d not supported (tcp, udp)", pb.Port, pb.Proto)
	}
	end := pb.HostPortEnd
	if end == 0 {
		end = pb.HostPort
	}
	if pb.HostPort < 1 || end > 65535 || end < pb.HostPort || pb.Port < 1 || pb.Port > 65535 {
		return "", fmt.Errorf("port binding %d->%d-%d: switchyard needs explicit host ports (-p HOSTPORT:PORT)", pb.Port, pb.HostPort, end)
	}
	if end != pb.HostPort {
		// Docker asks for any one port of the range.
		end = pb.HostPort
	}
	s.HostPort, s.HostEnd, s.Port, s.PortEnd = uint16(pb.HostPort), uint16(end), uint16(pb.Port), uint16(pb.Port)
	if pb.HostIP != "" {
		a, err := netip.ParseAddr(pb.HostIP)
		if err != nil {
			return "", fmt.Errorf("port binding host address %q: %w", pb.HostIP, err)
		}
		if !a.IsUnspecified() {
			s.HostIP = a
		}
	}
	return s.String(), nil
}

// programExternal publishes the endpoint's -p bindings; on failure none
// stays published.
func (s *Server) programExternal(req connectivityRequest) (struct{}, error) {
	name := EndpointName(req.EndpointID)
	list, err := specs(req.Options, name)
	if err != nil {
		return struct{}{}, err
	}
	network := s.netName(req.NetworkID)
	for _, spec := range list {
		if _, err := s.d.Publish(network, api.PublishRequest{Spec: spec}); err != nil {
			s.unpublish(req.EndpointID)
			return struct{}{}, fmt.Errorf("publish %s: %w", spec, err)
		}
		s.mu.Lock()
		s.published[req.EndpointID] = append(s.published[req.EndpointID], publishedMap{network, spec})
		s.mu.Unlock()
	}
	return struct{}{}, nil
}

func (s *Server) revokeExternal(req connectivityRequest) (struct{}, error) {
	return struct{}{}, s.unpublish(req.EndpointID)
}

// unpublish removes what programExternal published for an endpoint.
func (s *Server) unpublish(endpointID string) error {
	s.mu.Lock()
	list := s.published[endpointID]
	delete(s.published, endpointID)
	s.mu.Unlock()
	var errs []error
	for _, p := range list {
		if err := s.d.Unpublish(p.network, p.spec); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
