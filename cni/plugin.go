package cni

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/switchyard/switchyard/api"
)

// About is the plugin's description, printed when run without a command.
const About = "switchyard CNI plugin: containers on switchyard networks"

// Versions are the CNI spec versions the plugin speaks.
var Versions = version.All

// Daemon is the part of the control API the plugin uses; *api.Client is
// one.
type Daemon interface {
	Networks(ctx context.Context) ([]api.Network, error)
	CreateNetwork(ctx context.Context, req api.NetworkCreate) (api.Network, error)
	Attach(ctx context.Context, network string, req api.EndpointCreate) (api.Endpoint, error)
	Detach(ctx context.Context, network, name string) error
	Endpoints(ctx context.Context, network string) ([]api.Endpoint, error)
	Publish(ctx context.Context, network string, req api.PublishRequest) (api.Published, error)
}

var _ Daemon = (*api.Client)(nil)

// Plugin runs CNI commands against a switchyard daemon.
type Plugin struct {
	// Dial returns a client for the daemon at a socket (api.NewClient).
	Dial func(socket string) Daemon
	// Stdout receives results.
	Stdout io.Writer
	// Log gets diagnostics (stderr: the runtime keeps stdout).
	Log *slog.Logger
	// Timeout bounds one command (30s).
	Timeout time.Duration
}

// Funcs are the plugin's commands for skel.PluginMainFuncsWithError.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.Add, Del: p.Del, Check: p.Check, Status: p.Status, GC: p.GC}
}

// setup parses the configuration and connects to the daemon.
func (p *Plugin) setup(args *skel.CmdArgs) (*NetConf, Daemon, context.Context, context.CancelFunc, error) {
	conf, err := ParseConfig(args.StdinData)
	if err != nil {
		return nil, nil, nil, nil, types.NewError(types.ErrInvalidNetworkConfig, err.Error(), "")
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	return conf, p.Dial(conf.Socket), ctx, cancel, nil
}

// EndpointName is the switchyard endpoint name of a container's attachment
// (container ID and interface) on a CNI network: "cni-", 8 hex digits of
// the network's name, "-", 16 of the attachment. GC recognises the
// network's endpoints by the prefix.
func EndpointName(cniNetwork, containerID, ifname string) string {
	return namePrefix(cniNetwork) + hexHash(containerID+"\x00"+ifname, 16)
}

func namePrefix(cniNetwork string) string { return "cni-" + hexHash(cniNetwork, 8) + "-" }

func hexHash(s string, n int) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:n]
}

// daemonError turns a control API error into a CNI error: code 11 (try
// again later) when the daemon is not running.
func daemonError(what string, err error) error {
	if errors.Is(err, api.ErrNotRunning) {
		return types.NewError(types.ErrTryAgainLater, what+": "+err.Error(), "")
	}
	return types.NewError(types.ErrInternal, what+": "+err.Error(), "")
}

// Status reports whether the plugin can serve ADDs: the daemon answers
// and the network exists or can be created. Otherwise error 50.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	conf, d, ctx, cancel, err := p.setup(args)
	if err != nil {
		return err
	}
	defer cancel()
	nets, err := d.Networks(ctx)
	if err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "switchyard daemon unavailable: "+err.Error(), "")
	}
	if conf.Subnet == "" && findNetwork(nets, conf.Network) == nil {
		return types.NewError(types.ErrPluginNotAvailable,
			fmt.Sprintf("switchyard network %q does not exist and the configuration has no subnet to create it", conf.Network), "")
	}
	return nil
}

func findNetwork(nets []api.Network, name string) *api.Network {
	for i := range nets {
		if nets[i].Name == name {
			return &nets[i]
		}
	}
	return nil
}

// Del detaches the container's endpoint. It succeeds when the endpoint,
// the network or the namespace is already gone.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	conf, d, ctx, cancel, err := p.setup(args)
	if err != nil {
		return err
	}
	defer cancel()
	name := EndpointName(conf.Name, args.ContainerID, args.IfName)
	if err := d.Detach(ctx, conf.Network, name); err != nil && !api.IsNotFound(err) {
		return daemonError("detach "+name, err)
	}
	return nil
}

// GC detaches the network's CNI endpoints that are not among the valid
// attachments. Endpoints made otherwise (switchyard attach, other CNI
// networks) are left alone.
func (p *Plugin) GC(args *skel.CmdArgs) error {
	conf, d, ctx, cancel, err := p.setup(args)
	if err != nil {
		return err
	}
	defer cancel()
	valid := map[string]bool{}
	for _, a := range conf.ValidAttachments {
		valid[EndpointName(conf.Name, a.ContainerID, a.IfName)] = true
	}
	eps, err := d.Endpoints(ctx, conf.Network)
	if api.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return daemonError("list endpoints", err)
	}
	prefix := namePrefix(conf.Name)
	var errs []error
	for _, ep := range eps {
		if strings.HasPrefix(ep.Name, prefix) && !valid[ep.Name] {
			p.Log.Info("gc: detaching stale endpoint", "network", conf.Network, "endpoint", ep.Name)
			if err := d.Detach(ctx, conf.Network, ep.Name); err != nil && !api.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return daemonError("gc", err)
	}
	return nil
}
