package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
)

// overlayFlags registers network create's overlay flags.
func overlayFlags(fs *pflag.FlagSet, req *api.NetworkCreate) {
	fs.StringVar(&req.Driver, "driver", "", "network driver: bridge (default, one host), overlay (VXLAN across hosts) or uplink (endpoints on a host interface or VLAN, like macvlan)")
	fs.Uint32Var(&req.VNI, "vni", 0, "overlay: VXLAN network identifier (default: allocated cluster-wide from 4096)")
	fs.IntVar(&req.VXLANPort, "vxlan-port", 0, "overlay: UDP port of the VXLAN traffic (4789; Linux and flannel default to 8472)")
	fs.StringArrayVar(&req.Peers, "peer", nil, "overlay: VTEP address that is not a cluster member, e.g. a Linux vxlan device (repeatable)")
}

// clusterFlags are up's cluster store flags.
type clusterFlags struct {
	store, advertise, host string
	ttl                    time.Duration
}

func (c *clusterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.store, "cluster-store", "", "join a cluster kept in etcd: etcd://HOST:PORT[,HOST:PORT...] (overlay networks span its members)")
	fs.StringVar(&c.advertise, "cluster-advertise", "", "this host's IPv4 underlay address, which other hosts send VXLAN to")
	fs.StringVar(&c.host, "cluster-host", "", "this host's name in the cluster (default: the advertise address)")
	fs.DurationVar(&c.ttl, "cluster-ttl", 0, "membership lease TTL, 1s-10s (10s): a dead host's endpoints vanish within it")
}

// apply overrides the configuration file's cluster settings with the flags
// given.
func (c *clusterFlags) apply(cfg *daemon.Config) {
	if c.store != "" {
		cfg.ClusterStore = c.store
	}
	if c.advertise != "" {
		cfg.ClusterAdvertise = c.advertise
	}
	if c.host != "" {
		cfg.ClusterHost = c.host
	}
	if c.ttl != 0 {
		cfg.ClusterTTL = daemon.Duration(c.ttl)
	}
}

// cmdHosts lists the cluster's members.
func cmdHosts(args []string, out io.Writer) error {
	fs := newFlags("hosts")
	var cf clientFlags
	cf.register(fs)
	if _, err := parse(fs, args, 0, 0, "hosts"); err != nil {
		return err
	}
	hs, err := cf.client().Hosts(context.Background())
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, hs)
	}
	return table(out, "HOST\tADVERTISE\tLEASE\tTTL\tLAST KEEPALIVE\tSELF", func(tw io.Writer) {
		for _, h := range hs {
			fmt.Fprintf(tw, "%s\t%s\t%x\t%s\t%s\t%v\n", h.Name, h.Advertise, h.Lease, h.TTL,
				h.LastKeepAlive.Format(time.RFC3339), h.Self)
		}
	})
}

// orDash prints "-" for an empty field.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
