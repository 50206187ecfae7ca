package dockerplugin

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/api"
)

// Option keys of `docker network create -o`.
const (
	optGeneric = "com.docker.network.generic"
	optMTU     = "com.docker.network.driver.mtu"
	optVLAN    = "switchyard.vlan"
	// optName names the switchyard network (default docker-<ID>); an
	// existing one with the same subnet is used, and left at removal.
	optName      = "switchyard.name"
	optOverlay   = "switchyard.overlay"
	optVNI       = "switchyard.vni"
	optVXLANPort = "switchyard.vxlan-port"
	optPeers     = "switchyard.peers"
)

// knownOptions lists the switchyard.* options for error messages.
var knownOptions = []string{optVLAN, optName, optOverlay, optVNI, optVXLANPort, optPeers}

// dockerNet is the switchyard network behind a Docker network.
type dockerNet struct {
	name  string
	owned bool // created for Docker: removed with it
}

// netName is the switchyard network of a Docker network ID.
func (s *Server) netName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.nets[id]; ok {
		return n.name
	}
	return NetworkName(id)
}

// networkOptions turns the -o options into a network request (name and
// subnet aside); any unknown switchyard.* option is an error, never
// ignored.
func networkOptions(opts map[string]any) (api.NetworkCreate, error) {
	var req api.NetworkCreate
	generic, _ := opts[optGeneric].(map[string]any)
	for k, v := range generic {
		str := fmt.Sprint(v)
		bad := func(want string) (api.NetworkCreate, error) {
			return api.NetworkCreate{}, fmt.Errorf("option %s=%q: want %s", k, str, want)
		}
		switch k {
		case optVLAN:
			n, err := strconv.ParseUint(str, 10, 16)
			if err != nil || n > 4094 {
				return bad("a VLAN ID 0-4094")
			}
			req.VLAN = uint16(n)
		case optMTU:
			n, err := strconv.Atoi(str)
			if err != nil || n < 68 || n > 65535 {
				return bad("an MTU 68-65535")
			}
			req.MTU = n
		case optName:
			req.Name = str
		case optOverlay:
			on, err := strconv.ParseBool(str)
			if err != nil {
				return bad("true or false")
			}
			if on {
				req.Driver = api.DriverOverlay
			}
		case optVNI:
			n, err := strconv.ParseUint(str, 10, 24)
			if err != nil {
				return bad("a VNI 1-16777215")
			}
			req.VNI = uint32(n)
		case optVXLANPort:
			n, err := strconv.ParseUint(str, 10, 16)
			if err != nil {
				return bad("a UDP port")
			}
			req.VXLANPort = int(n)
		case optPeers:
			req.Peers = strings.Split(str, ",")
		default:
			if strings.HasPrefix(k, "switchyard.") {
				return api.NetworkCreate{}, fmt.Errorf("option %s is not supported (known: %s)", k, strings.Join(knownOptions, ", "))
			}
		}
	}
	return req, nil
}

func (s *Server) createNetwork(req createNetworkRequest) (struct{}, error) {
	if len(req.IPv6Data) > 0 {
		return struct{}{}, errors.New("switchyard networks are IPv4 only")
	}
	if len(req.IPv4Data) != 1 {
		return struct{}{}, fmt.Errorf("switchyard networks take exactly one IPv4 subnet, got %d", len(req.IPv4Data))
	}
	nc, err := networkOptions(req.Options)
	if err != nil {
		return struct{}{}, err
	}
	data := req.IPv4Data[0]
	nc.Subnet = data.Pool
	if data.Gateway != "" {
		p, err := netip.ParsePrefix(data.Gateway)
		if err != nil {
			return struct{}{}, fmt.Errorf("gateway %q: %w", data.Gateway, err)
		}
		nc.Gateway = p.Addr().String()
	}
	dn := dockerNet{name: nc.Name, owned: true}
	if dn.name == "" {
		dn.name = NetworkName(req.NetworkID)
		nc.Name = dn.name
	}
	nets := s.d.Networks()
	if i := slices.IndexFunc(nets, func(n api.Network) bool { return n.Name == nc.Name }); i >= 0 {
		// An existing network (e.g. an overlay network a cluster peer
		// created): use it if it is the one described.
		have := nets[i]
		if have.Subnet != nc.Subnet || (nc.Driver != "" && have.Driver != nc.Driver) {
			return struct{}{}, fmt.Errorf("switchyard network %s exists with subnet %s (driver %s)", have.Name, have.Subnet, have.Driver)
		}
		dn.owned = false
	} else if _, err := s.d.CreateNetwork(nc); err != nil {
		return struct{}{}, err
	}
	s.mu.Lock()
	s.nets[req.NetworkID] = dn
	s.mu.Unlock()
	return struct{}{}, nil
}

// deleteNetwork removes the switchyard network if it was made for Docker.
func (s *Server) deleteNetwork(req networkRequest) (struct{}, error) {
	s.mu.Lock()
	dn, ok := s.nets[req.NetworkID]
	delete(s.nets, req.NetworkID)
	s.mu.Unlock()
	if !ok {
		dn = dockerNet{name: NetworkName(req.NetworkID), owned: true}
	}
	if !dn.owned {
		return struct{}{}, nil
	}
	err := s.d.RemoveNetwork(dn.name)
	if isNotFound(err) {
		err = nil
	}
	return struct{}{}, err
}
