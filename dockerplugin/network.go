package dockerplugin

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/api"
)

// NetworkName is the switchyard network of a Docker network ID.
func NetworkName(networkID string) string { return "docker-" + short(networkID) }

// EndpointName is the switchyard endpoint of a Docker endpoint ID.
func EndpointName(endpointID string) string { return "docker-" + short(endpointID) }

// tapName is the endpoint TAP's name in the daemon's namespace (at most
// 15 bytes), the SrcName dockerd moves into the container.
func tapName(endpointID string) string { return "sy" + prefix(endpointID, 11) }

func short(id string) string { return prefix(id, 12) }

// prefix is s cut to at most n bytes.
func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (s *Server) networkRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /NetworkDriver.GetCapabilities", call(func(struct{}) (capabilitiesResponse, error) {
		return capabilitiesResponse{Scope: "local", ConnectivityScope: "local"}, nil
	}))
	mux.HandleFunc("POST /NetworkDriver.CreateNetwork", call(s.createNetwork))
	mux.HandleFunc("POST /NetworkDriver.DeleteNetwork", call(s.deleteNetwork))
	mux.HandleFunc("POST /NetworkDriver.CreateEndpoint", call(s.createEndpoint))
	mux.HandleFunc("POST /NetworkDriver.DeleteEndpoint", call(s.deleteEndpoint))
	mux.HandleFunc("POST /NetworkDriver.EndpointOperInfo", call(func(endpointRequest) (map[string]any, error) {
		return map[string]any{"Value": map[string]any{}}, nil
	}))
	mux.HandleFunc("POST /NetworkDriver.Join", call(s.join))
	mux.HandleFunc("POST /NetworkDriver.Leave", call(func(endpointRequest) (struct{}, error) { return struct{}{}, nil }))
	mux.HandleFunc("POST /NetworkDriver.DiscoverNew", call(func(map[string]any) (struct{}, error) { return struct{}{}, nil }))
	mux.HandleFunc("POST /NetworkDriver.DiscoverDelete", call(func(map[string]any) (struct{}, error) { return struct{}{}, nil }))
	mux.HandleFunc("POST /NetworkDriver.ProgramExternalConnectivity", call(s.programExternal))
	mux.HandleFunc("POST /NetworkDriver.RevokeExternalConnectivity", call(s.revokeExternal))
}

// isNotFound reports a daemon error saying the object does not exist.
func isNotFound(err error) bool {
	return err != nil && (api.IsNotFound(err) || strings.Contains(err.Error(), "not found"))
}

// createEndpoint attaches a TAP without an address in the daemon's
// namespace, with the address dockerd's IPAM chose (or one of the
// network's when it chose none), and returns what dockerd did not set.
func (s *Server) createEndpoint(req createEndpointRequest) (createEndpointResponse, error) {
	in := endpointInterface{}
	if req.Interface != nil {
		in = *req.Interface
	}
	if in.AddressIPv6 != "" {
		return createEndpointResponse{}, errors.New("switchyard networks are IPv4 only")
	}
	staging := s.stagingPath(req.EndpointID)
	if err := createNetns(staging); err != nil {
		return createEndpointResponse{}, err
	}
	ec := api.EndpointCreate{Netns: staging, Name: EndpointName(req.EndpointID), IfName: tapName(req.EndpointID),
		MAC: in.MacAddress, DHCP: true}
	if in.Address != "" {
		p, err := netip.ParsePrefix(in.Address)
		if err != nil {
			return createEndpointResponse{}, fmt.Errorf("address %q: %w", in.Address, err)
		}
		ec.IP = p.Addr().String()
	}
	ep, err := s.d.Attach(s.netName(req.NetworkID), ec)
	if err != nil {
		s.removeStaging(req.EndpointID)
		return createEndpointResponse{}, err
	}
	out := &endpointInterface{}
	if in.Address == "" {
		out.Address = ep.IP
	}
	if in.MacAddress == "" {
		out.MacAddress = ep.MAC
	}
	if *out == (endpointInterface{}) {
		out = nil
	}
	return createEndpointResponse{Interface: out}, nil
}

func (s *Server) deleteEndpoint(req endpointRequest) (struct{}, error) {
	s.unpublish(req.EndpointID)
	err := s.d.Detach(s.netName(req.NetworkID), EndpointName(req.EndpointID))
	if isNotFound(err) {
		err = nil
	}
	s.removeStaging(req.EndpointID)
	return struct{}{}, err
}

// stagingPath is the endpoint's staging namespace.
func (s *Server) stagingPath(endpointID string) string {
	return filepath.Join(s.cfg.StagingDir, EndpointName(endpointID))
}

func (s *Server) removeStaging(endpointID string) {
	if err := removeNetns(s.stagingPath(endpointID)); err != nil {
		s.cfg.Log.Warn("docker plugin: staging namespace left behind", "err", err)
	}
}

// join names the TAP dockerd moves into the sandbox and the gateway it
// routes through.
func (s *Server) join(req joinRequest) (joinResponse, error) {
	network := s.netName(req.NetworkID)
	eps, err := s.d.Endpoints(network)
	if err != nil {
		return joinResponse{}, err
	}
	name := EndpointName(req.EndpointID)
	i := slices.IndexFunc(eps, func(e api.Endpoint) bool { return e.Name == name })
	if i < 0 {
		return joinResponse{}, fmt.Errorf("endpoint %s not found on network %s", name, network)
	}
	nets := s.d.Networks()
	j := slices.IndexFunc(nets, func(n api.Network) bool { return n.Name == network })
	if j < 0 {
		return joinResponse{}, fmt.Errorf("network %s not found", network)
	}
	own, err := ownNetns()
	if err != nil {
		return joinResponse{}, err
	}
	defer own.Close()
	if err := moveLink(s.stagingPath(req.EndpointID), own, eps[i].IfName); err != nil {
		return joinResponse{}, err
	}
	return joinResponse{InterfaceName: interfaceName{SrcName: eps[i].IfName, DstPrefix: "eth"}, Gateway: nets[j].Gateway}, nil
}
