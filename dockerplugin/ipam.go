package dockerplugin

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/switchyard/switchyard/ipam"
)

// Address spaces the IPAM driver reports; both hold switchyard subnets.
const addressSpace = "switchyard"

// optAddressType marks the gateway's address request.
const (
	optAddressType = "RequestAddressType"
	gatewayType    = "com.docker.network.gateway"
)

func (s *Server) ipamRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /IpamDriver.GetCapabilities", call(func(struct{}) (ipamCapabilitiesResponse, error) {
		return ipamCapabilitiesResponse{}, nil
	}))
	mux.HandleFunc("POST /IpamDriver.GetDefaultAddressSpaces", call(func(struct{}) (addressSpacesResponse, error) {
		return addressSpacesResponse{LocalDefaultAddressSpace: addressSpace, GlobalDefaultAddressSpace: addressSpace}, nil
	}))
	mux.HandleFunc("POST /IpamDriver.RequestPool", call(s.requestPool))
	mux.HandleFunc("POST /IpamDriver.ReleasePool", call(s.releasePool))
	mux.HandleFunc("POST /IpamDriver.RequestAddress", call(s.requestAddress))
	mux.HandleFunc("POST /IpamDriver.ReleaseAddress", call(s.releaseAddress))
}

// requestPool registers the subnet given with --subnet.
func (s *Server) requestPool(req requestPoolRequest) (requestPoolResponse, error) {
	if req.V6 {
		return requestPoolResponse{}, errors.New("switchyard IPAM: IPv6 pools are not supported")
	}
	if req.Pool == "" {
		return requestPoolResponse{}, errors.New("switchyard IPAM: give the network a --subnet")
	}
	if req.SubPool != "" && req.SubPool != req.Pool {
		return requestPoolResponse{}, errors.New("switchyard IPAM: --ip-range is not supported")
	}
	p, err := netip.ParsePrefix(req.Pool)
	if err != nil {
		return requestPoolResponse{}, fmt.Errorf("switchyard IPAM: subnet %q: %w", req.Pool, err)
	}
	// Check it the way the pool will be built (IPv4, /8 to /30, canonical).
	if _, err := ipam.New(p, netip.Addr{}); err != nil {
		return requestPoolResponse{}, fmt.Errorf("switchyard IPAM: %w", err)
	}
	id := addressSpace + "/" + p.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pools[id]; ok {
		return requestPoolResponse{}, fmt.Errorf("switchyard IPAM: subnet %s is in use", p)
	}
	s.pools[id] = &pool{prefix: p.String()}
	return requestPoolResponse{PoolID: id, Pool: p.String(), Data: map[string]string{}}, nil
}

func (s *Server) releasePool(req poolRequest) (struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pools, req.PoolID)
	return struct{}{}, nil
}

// requestAddress hands out the gateway (the one asked for, or the first
// address) and container addresses (the one asked for with --ip, or the
// lowest free).
func (s *Server) requestAddress(req requestAddressRequest) (requestAddressResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pl, ok := s.pools[req.PoolID]
	if !ok {
		return requestAddressResponse{}, fmt.Errorf("switchyard IPAM: unknown pool %q", req.PoolID)
	}
	prefix := netip.MustParsePrefix(pl.prefix)
	var want netip.Addr
	if req.Address != "" {
		a, err := netip.ParseAddr(req.Address)
		if err != nil {
			return requestAddressResponse{}, fmt.Errorf("switchyard IPAM: address %q: %w", req.Address, err)
		}
		want = a
	}
	var got netip.Addr
	var err error
	switch {
	case req.Options[optAddressType] == gatewayType:
		if pl.addrs != nil {
			return requestAddressResponse{}, errors.New("switchyard IPAM: the pool's gateway is already set")
		}
		if pl.addrs, err = ipam.New(prefix, want); err == nil {
			got = pl.addrs.Gateway()
		}
	default:
		if pl.addrs == nil {
			if pl.addrs, err = ipam.New(prefix, netip.Addr{}); err != nil {
				break
			}
		}
		if want.IsValid() {
			got, err = want, pl.addrs.Reserve(want)
		} else {
			got, err = s.allocate(pl, prefix)
		}
	}
	if err != nil {
		return requestAddressResponse{}, fmt.Errorf("switchyard IPAM: %w", err)
	}
	return requestAddressResponse{Address: netip.PrefixFrom(got, prefix.Bits()).String(), Data: map[string]string{}}, nil
}

func (s *Server) releaseAddress(req releaseAddressRequest) (struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pl, ok := s.pools[req.PoolID]
	if !ok || pl.addrs == nil {
		return struct{}{}, nil
	}
	if a, err := netip.ParseAddr(req.Address); err == nil && a != pl.addrs.Gateway() {
		pl.addrs.Release(a)
	}
	return struct{}{}, nil
}

// allocate takes the lowest address free both in the pool and in the
// switchyard network on the pool's subnet, if it exists yet (the daemon
// takes addresses of its own, e.g. for the kernel publish path's host
// port). Addresses the network holds stay reserved in the pool.
func (s *Server) allocate(pl *pool, prefix netip.Prefix) (netip.Addr, error) {
	network := ""
	for _, n := range s.d.Networks() {
		if n.Subnet == prefix.String() {
			network = n.Name
		}
	}
	for {
		a, err := pl.addrs.Allocate()
		if err != nil || network == "" {
			return a, err
		}
		if used, err := s.d.AddressInUse(network, a); err != nil || !used {
			return a, nil
		}
	}
}
