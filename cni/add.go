package cni

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/switchyard/switchyard/api"
)

// Add attaches the container's namespace to the network (creating the
// network on first use when the configuration has a subnet), publishes
// its port mappings and prints the result. A failed ADD leaves nothing
// behind.
func (p *Plugin) Add(args *skel.CmdArgs) error {
	conf, d, ctx, cancel, err := p.setup(args)
	if err != nil {
		return err
	}
	defer cancel()
	nw, err := ensureNetwork(ctx, d, conf)
	if err != nil {
		return err
	}
	name := EndpointName(conf.Name, args.ContainerID, args.IfName)
	req := api.EndpointCreate{Netns: args.Netns, Name: name, IfName: args.IfName, MTU: conf.MTU}
	if len(conf.RuntimeConfig.IPs) > 0 {
		a, _ := parseIP(conf.RuntimeConfig.IPs[0])
		req.IP = a.String()
	}
	ep, err := d.Attach(ctx, conf.Network, req)
	if err != nil {
		return daemonError("attach", err)
	}
	for _, m := range conf.RuntimeConfig.PortMappings {
		if _, err := d.Publish(ctx, conf.Network, api.PublishRequest{Spec: m.spec(name)}); err != nil {
			// Detaching removes the mappings published so far too.
			if derr := d.Detach(ctx, conf.Network, name); derr != nil {
				p.Log.Error("cni: detach after failed publish", "endpoint", name, "err", derr)
			}
			return daemonError("publish "+m.spec(name), err)
		}
	}
	res, err := result(nw, ep, args.Netns)
	if err != nil {
		return types.NewError(types.ErrInternal, err.Error(), "")
	}
	if conf.PrevResult != nil {
		if res, err = chain(conf.PrevResult, res); err != nil {
			return types.NewError(types.ErrDecodingFailure, err.Error(), "")
		}
	}
	out, err := res.GetAsVersion(conf.CNIVersion)
	if err != nil {
		return types.NewError(types.ErrIncompatibleCNIVersion, err.Error(), "")
	}
	return out.PrintTo(p.Stdout)
}

// ensureNetwork returns the configured network, creating it when it does
// not exist and the configuration has a subnet. An existing network with
// another subnet or VLAN is a configuration error.
func ensureNetwork(ctx context.Context, d Daemon, conf *NetConf) (api.Network, error) {
	for try := 0; try < 2; try++ {
		nets, err := d.Networks(ctx)
		if err != nil {
			return api.Network{}, daemonError("list networks", err)
		}
		if n := findNetwork(nets, conf.Network); n != nil {
			return *n, matches(*n, conf)
		}
		if conf.Subnet == "" {
			return api.Network{}, types.NewError(types.ErrInvalidNetworkConfig,
				fmt.Sprintf("switchyard network %q does not exist and the configuration has no subnet", conf.Network), "")
		}
		n, err := d.CreateNetwork(ctx, api.NetworkCreate{Name: conf.Network, Subnet: conf.Subnet,
			Gateway: conf.Gateway, VLAN: conf.VLAN, MTU: conf.MTU})
		if err == nil {
			return n, nil
		}
		var se *api.StatusError
		if !errors.As(err, &se) || se.Status != 409 {
			return api.Network{}, daemonError("create network "+conf.Network, err)
		}
		// Another ADD created it first: look again.
	}
	return api.Network{}, types.NewError(types.ErrTryAgainLater, "network "+conf.Network+" is being created and removed", "")
}

// matches checks an existing network against the configuration.
func matches(n api.Network, conf *NetConf) error {
	if conf.Subnet != "" {
		want, _ := netip.ParsePrefix(conf.Subnet)
		have, err := netip.ParsePrefix(n.Subnet)
		if err != nil || want.Masked() != have.Masked() {
			return types.NewError(types.ErrInvalidNetworkConfig,
				fmt.Sprintf("switchyard network %q has subnet %s, the configuration says %s", n.Name, n.Subnet, conf.Subnet), "")
		}
	}
	if conf.VLAN != n.VLAN {
		return types.NewError(types.ErrInvalidNetworkConfig,
			fmt.Sprintf("switchyard network %q has VLAN %d, the configuration says %d", n.Name, n.VLAN, conf.VLAN), "")
	}
	return nil
}

// result describes the endpoint as a CNI result: the interface in the
// sandbox, its address and gateway, the default route when the endpoint
// carries it, and the gateway's DNS server.
func result(nw api.Network, ep api.Endpoint, netns string) (*current.Result, error) {
	pfx, err := netip.ParsePrefix(ep.IP)
	if err != nil {
		return nil, fmt.Errorf("endpoint address %q: %w", ep.IP, err)
	}
	gw, err := netip.ParseAddr(nw.Gateway)
	if err != nil {
		return nil, fmt.Errorf("gateway %q: %w", nw.Gateway, err)
	}
	gwIP := net.IP(gw.AsSlice())
	r := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{{Name: ep.IfName, Mac: ep.MAC, Mtu: ep.MTU, Sandbox: netns}},
		IPs: []*current.IPConfig{{Interface: current.Int(0), Gateway: gwIP,
			Address: net.IPNet{IP: pfx.Addr().AsSlice(), Mask: net.CIDRMask(pfx.Bits(), pfx.Addr().BitLen())}}},
		DNS: types.DNS{Nameservers: []string{nw.Gateway}, Domain: nw.Name},
	}
	if ep.DefaultRoute {
		bits := gw.BitLen()
		r.Routes = []*types.Route{{Dst: net.IPNet{IP: make(net.IP, bits/8), Mask: net.CIDRMask(0, bits)}, GW: gwIP}}
	}
	return r, nil
}

// chain appends this plugin's result to the previous plugin's.
func chain(prev types.Result, mine *current.Result) (*current.Result, error) {
	p, err := current.NewResultFromResult(prev)
	if err != nil {
		return nil, fmt.Errorf("prevResult: %w", err)
	}
	off := len(p.Interfaces)
	p.Interfaces = append(p.Interfaces, mine.Interfaces...)
	for _, ip := range mine.IPs {
		ip.Interface = current.Int(*ip.Interface + off)
		p.IPs = append(p.IPs, ip)
	}
	p.Routes = append(p.Routes, mine.Routes...)
	if len(p.DNS.Nameservers) == 0 {
		p.DNS = mine.DNS
	}
	return p, nil
}
