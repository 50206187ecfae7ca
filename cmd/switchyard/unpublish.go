package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/portmap"
)

// cmdUnpublish removes a published mapping, named by its spec or by its
// host port alone (HOSTPORT[/tcp|/udp]).
func cmdUnpublish(args []string, out io.Writer) error {
	fs := newFlags("unpublish")
	var cf clientFlags
	cf.register(fs)
	pos, err := parse(fs, args, 2, 2, "unpublish NETWORK HOSTPORT[/tcp|/udp] | [HOSTIP:]HOSTPORT[-END]:ENDPOINT:PORT[-END][/tcp|/udp]")
	if err != nil {
		return err
	}
	c := cf.client()
	spec := pos[1]
	if !strings.Contains(spec, ":") {
		ps, err := c.Ports(context.Background())
		if err != nil {
			return err
		}
		if spec, err = specByHostPort(ps, pos[0], pos[1]); err != nil {
			return err
		}
	}
	if err := c.Unpublish(context.Background(), pos[0], spec); err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, api.Published{Network: pos[0], Spec: spec})
	}
	fmt.Fprintln(out, spec)
	return nil
}

// specByHostPort finds the spec of network's mapping whose host ports
// include HOSTPORT[/proto] (tcp when no protocol is given).
func specByHostPort(ps []api.Published, network, arg string) (string, error) {
	portText, proto, _ := strings.Cut(arg, "/")
	if proto == "" {
		proto = "tcp"
	}
	hp, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || hp == 0 || (proto != "tcp" && proto != "udp") {
		return "", usagef("unpublish: %q is neither HOSTPORT[/tcp|/udp] nor a publish spec", arg)
	}
	var found []string
	for _, p := range ps {
		s, err := portmap.ParseSpec(p.Spec)
		if err != nil || p.Network != network || s.Proto != proto {
			continue
		}
		if uint16(hp) >= s.HostPort && uint16(hp) <= s.HostEnd {
			found = append(found, p.Spec)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("unpublish: no %s mapping on host port %d in network %q (see `switchyard ports`)", proto, hp, network)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("unpublish: host port %d/%s is in several mappings (%s): give the spec", hp, proto, strings.Join(found, ", "))
}
