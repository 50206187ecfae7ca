package cni

import (
	"fmt"
	"net"
	"slices"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil"
)

// Check verifies that the endpoint ADD created is still there as the
// previous result says: known to the daemon with the same MAC and
// address, and present in the namespace with them.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	conf, d, ctx, cancel, err := p.setup(args)
	if err != nil {
		return err
	}
	defer cancel()
	if conf.PrevResult == nil {
		return types.NewError(types.ErrInvalidNetworkConfig, "CHECK needs a prevResult", "")
	}
	prev, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return types.NewError(types.ErrDecodingFailure, err.Error(), "")
	}
	name := EndpointName(conf.Name, args.ContainerID, args.IfName)
	eps, err := d.Endpoints(ctx, conf.Network)
	if err != nil {
		return daemonError("list endpoints", err)
	}
	i := slices.IndexFunc(eps, func(e api.Endpoint) bool { return e.Name == name })
	if i < 0 {
		return types.NewError(types.ErrInternal, fmt.Sprintf("endpoint %s is not attached to %s", name, conf.Network), "")
	}
	ep := eps[i]
	if err := checkPrev(prev, ep, args); err != nil {
		return types.NewError(types.ErrInternal, err.Error(), "")
	}
	if err := nsutil.Do(args.Netns, func() error { return checkLink(ep) }); err != nil {
		return types.NewError(types.ErrInternal, fmt.Sprintf("namespace %s: %v", args.Netns, err), "")
	}
	return nil
}

// checkPrev compares the previous result's interface and address with
// the daemon's endpoint.
func checkPrev(prev *current.Result, ep api.Endpoint, args *skel.CmdArgs) error {
	idx := slices.IndexFunc(prev.Interfaces, func(i *current.Interface) bool {
		return i.Name == args.IfName && i.Sandbox == args.Netns
	})
	if idx < 0 {
		return fmt.Errorf("prevResult has no interface %s in %s", args.IfName, args.Netns)
	}
	if prev.Interfaces[idx].Mac != ep.MAC {
		return fmt.Errorf("interface %s: MAC %s, prevResult says %s", args.IfName, ep.MAC, prev.Interfaces[idx].Mac)
	}
	for _, ip := range prev.IPs {
		if ip.Interface != nil && *ip.Interface == idx && ip.Address.String() == ep.IP {
			return nil
		}
	}
	return fmt.Errorf("interface %s: address %s not in prevResult", args.IfName, ep.IP)
}

// checkLink looks, inside the namespace, for the interface with the
// endpoint's MAC, up and carrying its address.
func checkLink(ep api.Endpoint) error {
	ifc, err := net.InterfaceByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("interface %s: %w", ep.IfName, err)
	}
	if ifc.HardwareAddr.String() != ep.MAC {
		return fmt.Errorf("interface %s has MAC %s, want %s", ep.IfName, ifc.HardwareAddr, ep.MAC)
	}
	if ifc.Flags&net.FlagUp == 0 {
		return fmt.Errorf("interface %s is down", ep.IfName)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", ep.IfName, err)
	}
	for _, a := range addrs {
		if a.String() == ep.IP {
			return nil
		}
	}
	return fmt.Errorf("interface %s lacks address %s (has %v)", ep.IfName, ep.IP, addrs)
}
