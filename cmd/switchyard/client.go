package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/switchyard/switchyard/api"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer, header string, rows func(tw io.Writer)) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

func cmdNetwork(args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: switchyard network create|ls|rm ...")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(out, commandUsage("network")+"\nRun 'switchyard network create|ls|rm --help' for their flags.\n")
		return nil
	case "create":
		return cmdNetworkCreate(args[1:], out)
	case "ls", "list":
		return cmdNetworkLs(args[1:], out)
	case "rm", "remove":
		return cmdNetworkRm(args[1:], out)
	}
	return usagef("unknown network command %q (create, ls, rm)", args[0])
}

func cmdNetworkCreate(args []string, out io.Writer) error {
	fs := newFlags("network create")
	var cf clientFlags
	var req api.NetworkCreate
	cf.register(fs)
	var subnets, gateways []string
	fs.StringArrayVar(&subnets, "subnet", nil, "subnet in CIDR form (required); an IPv4 and an IPv6 one make the network dual-stack")
	fs.StringArrayVar(&gateways, "gateway", nil, "gateway address of its subnet's family (default: the subnet's first address); repeatable")
	fs.BoolVar(&req.IPv6, "ipv6", false, "make the network dual-stack: a unique local /64 is picked when no IPv6 --subnet is given")
	fs.Uint16Var(&req.VLAN, "vlan", 0, "802.1Q VLAN ID (1-4094): the network becomes a VLAN of the shared trunk-capable switch")
	fs.IntVar(&req.MTU, "mtu", 0, "network MTU: the gateway's and the endpoints' default (1500)")
	fs.BoolVar(&req.AllowHostLoopback, "allow-host-loopback", false, "let the gateway address reach the host's 127.0.0.1 on ports without a gateway service")
	fs.StringVar(&req.DHCPRange, "dhcp-range", "", "dynamic DHCP pool, CIDR or FIRST-LAST inside the subnet (default: its last quarter); attach never hands these out")
	noDHCP := fs.Bool("no-dhcp", false, "serve no DHCP on the network")
	overlayFlags(fs, &req)
	uplinkFlags(fs, &req)
	fs.BoolVar(&req.AllowOverlap, "allow-overlap", false, "allow a subnet overlapping the host's routes or addresses")
	pos, err := parse(fs, args, 1, 1, "network create NAME --subnet CIDR [--subnet CIDR6 | --ipv6] [--gateway IP]... [--vlan ID] [--mtu N] [--allow-host-loopback] [--allow-overlap] [--dhcp-range CIDR|FIRST-LAST | --no-dhcp] [--driver overlay [--vni N] [--vxlan-port 4789] [--peer IP]...] [--driver uplink --parent IFACE[.VLAN] [--ip-range CIDR] [--aux-address IP]... [--dns-addr IP]]")
	if err != nil {
		return err
	}
	req.Name = pos[0]
	if *noDHCP {
		req.DHCP = "off"
	}
	if err := splitFamilies(&req, subnets, gateways); err != nil {
		return err
	}
	if req.Subnet == "" {
		return usagef("network create: --subnet is required")
	}
	n, err := cf.client().CreateNetwork(context.Background(), req)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, n)
	}
	fmt.Fprintln(out, n.Name)
	return nil
}

func cmdNetworkLs(args []string, out io.Writer) error {
	fs := newFlags("network ls")
	var cf clientFlags
	cf.register(fs)
	if _, err := parse(fs, args, 0, 0, "network ls"); err != nil {
		return err
	}
	ns, err := cf.client().Networks(context.Background())
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, ns)
	}
	return table(out, "NAME\tDRIVER\tSUBNET\tGATEWAY\tSUBNET6\tGATEWAY6\tVLAN\tVNI\tMTU\tDNS NAMES\tHOST LOOPBACK\tDHCP\tENDPOINTS", func(tw io.Writer) {
		for _, n := range ns {
			vlan, vni := "-", "-"
			if n.VLAN != 0 {
				vlan = fmt.Sprint(n.VLAN)
			}
			if n.VNI != 0 {
				vni = fmt.Sprint(n.VNI)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%v\t%v\t%s\t%d\n", n.Name, n.Driver, n.Subnet, n.Gateway, orDash(n.Subnet6), orDash(n.Gateway6), vlan, vni, n.MTU, n.DNSNames, n.AllowHostLoopback, dhcpColumn(n), n.Endpoints)
		}
	})
}

func cmdNetworkRm(args []string, out io.Writer) error {
	fs := newFlags("network rm")
	var cf clientFlags
	cf.register(fs)
	pos, err := parse(fs, args, 1, -1, "network rm NAME...")
	if err != nil {
		return err
	}
	for _, name := range pos {
		if err := cf.client().RemoveNetwork(context.Background(), name); err != nil {
			return err
		}
		fmt.Fprintln(out, name)
	}
	return nil
}

func cmdAttach(args []string, out io.Writer) error {
	fs := newFlags("attach")
	var cf clientFlags
	var req api.EndpointCreate
	cf.register(fs)
	fs.StringVar(&req.Name, "name", "", "endpoint name (default: the netns name)")
	fs.StringVar(&req.IP, "ip", "", "address in the subnet (default: the lowest free one)")
	fs.StringVar(&req.IP6, "ip6", "", "IPv6 address in a dual-stack network's IPv6 subnet (default: the lowest free one)")
	fs.StringVar(&req.MAC, "mac", "", "interface MAC address (default: random)")
	fs.StringVar(&req.IfName, "ifname", "", "interface name in the netns (default: the first free ethN)")
	fs.IntVar(&req.MTU, "mtu", 0, "interface MTU (the network's, 1500)")
	fs.StringArrayVar(&req.Aliases, "alias", nil, "extra DNS name of the endpoint on this network (repeatable)")
	fs.BoolVar(&req.DHCP, "dhcp", false, "leave the interface unconfigured: a DHCP client gets the reserved address from the gateway")
	fs.BoolVar(&req.NoPortSecurity, "no-port-security", false, "let the endpoint send from any MAC and claim any free address (nested bridges, VMs)")
	fs.BoolVar(&req.NoResolvConf, "no-resolv-conf", false, "do not write /etc/netns/NETNS/resolv.conf (the gateway's DNS and search domain) for a named netns")
	pos, err := parse(fs, args, 2, 2, "attach NETWORK NETNS [--name NAME] [--alias NAME]... [--ip IP] [--ip6 IP6] [--mac MAC] [--ifname eth0] [--mtu N] [--dhcp] [--no-port-security] [--no-resolv-conf]")
	if err != nil {
		return err
	}
	req.Netns = pos[1]
	ep, err := cf.client().Attach(context.Background(), pos[0], req)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, ep)
	}
	if ep.IP6 != "" {
		fmt.Fprintf(out, "%s %s %s %s %s\n", ep.Name, ep.IfName, ep.IP, ep.IP6, ep.MAC)
		return nil
	}
	fmt.Fprintf(out, "%s %s %s %s\n", ep.Name, ep.IfName, ep.IP, ep.MAC)
	return nil
}

func cmdDetach(args []string, out io.Writer) error {
	fs := newFlags("detach")
	var cf clientFlags
	cf.register(fs)
	pos, err := parse(fs, args, 2, 2, "detach NETWORK NAME")
	if err != nil {
		return err
	}
	if err := cf.client().Detach(context.Background(), pos[0], pos[1]); err != nil {
		return err
	}
	fmt.Fprintln(out, pos[1])
	return nil
}

func cmdEndpoints(args []string, out io.Writer) error {
	fs := newFlags("endpoints")
	var cf clientFlags
	cf.register(fs)
	pos, err := parse(fs, args, 0, 1, "endpoints [NETWORK]")
	if err != nil {
		return err
	}
	network := ""
	if len(pos) == 1 {
		network = pos[0]
	}
	eps, err := cf.client().Endpoints(context.Background(), network)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, eps)
	}
	return table(out, "NETWORK\tNAME\tHOST\tNETNS\tIFNAME\tIP\tIPV6\tMAC\tMTU", func(tw io.Writer) {
		for _, e := range eps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.Network, e.Name, orDash(e.Host), orDash(e.Netns), orDash(e.IfName), e.IP, orDash(e.IP6), e.MAC, e.MTU)
		}
	})
}

func cmdFDB(args []string, out io.Writer) error {
	fs := newFlags("fdb")
	var cf clientFlags
	cf.register(fs)
	pos, err := parse(fs, args, 1, 1, "fdb NETWORK")
	if err != nil {
		return err
	}
	es, err := cf.client().FDB(context.Background(), pos[0])
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, es)
	}
	return table(out, "MAC\tVLAN\tPORT\tVTEP\tAGE", func(tw io.Writer) {
		for _, e := range es {
			age := e.Age.Round(time.Second).String()
			if e.Pinned {
				age = "pinned"
			}
			if e.Static {
				age = "static"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", e.MAC, e.VLAN, e.Port, orDash(e.VTEP), age)
		}
	})
}

func cmdStats(args []string, out io.Writer) error {
	fs := newFlags("stats")
	var cf clientFlags
	cf.register(fs)
	if _, err := parse(fs, args, 0, 0, "stats"); err != nil {
		return err
	}
	st, err := cf.client().Stats(context.Background())
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, st)
	}
	if err := table(out, "NETWORK\tPORT\tRX FRAMES\tRX BYTES\tRX DROPS\tTX FRAMES\tTX BYTES\tTX DROPS\tERRORS\tSECURED\tSPOOF DROPS", func(tw io.Writer) {
		for _, n := range st.Networks {
			for _, p := range n.Ports {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", n.Network, p.Name, p.RxFrames, p.RxBytes, p.RxDrops, p.TxFrames, p.TxBytes, p.TxDrops, p.Errors,
					yesNo(p.PortSecurity), spoofDrops(p.Security))
			}
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "NETWORK\tFDB\tFDB MAX\tEVICTED\tFLOODS\tGW QUEUE DROPS\tGW BAD CSUM\tNAT TCP\tNAT UDP\tNAT REFUSED\tPING FWD\tPING DROPS")
		for _, n := range st.Networks {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", n.Network, n.FDBEntries, n.FDBMax, n.FDBEvicted, n.Floods,
				n.Gateway.QueueDrops, n.Gateway.BadChecksum, n.NAT.TCPFlows, n.NAT.UDPFlows, n.NAT.RefusedFull+n.NAT.RefusedPolicy,
				n.NAT.ICMPForwarded, n.NAT.ICMPDropped)
		}
	}); err != nil {
		return err
	}
	var notes icmpNotes
	for _, n := range st.Networks {
		notes.add(n.Network, n.NAT.ICMPUnsupported)
	}
	notes.print(out)
	return nil
}

func cmdConntrack(args []string, out io.Writer) error {
	fs := newFlags("conntrack")
	var cf clientFlags
	cf.register(fs)
	pos, err := parse(fs, args, 0, 1, "conntrack [NETWORK]")
	if err != nil {
		return err
	}
	network := ""
	if len(pos) == 1 {
		network = pos[0]
	}
	cts, err := cf.client().Conntrack(context.Background(), network)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, cts)
	}
	if err := table(out, "NETWORK\tPROTO\tENDPOINT\tDESTINATION\tBYTES OUT\tBYTES IN\tAGE", func(tw io.Writer) {
		for _, ct := range cts {
			for _, f := range ct.Flows {
				dest := f.Dest
				if f.Target != "" {
					dest += " (" + f.Target + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", ct.Network, f.Proto, f.Endpoint, dest, f.BytesOut, f.BytesIn, f.Age.Round(time.Second))
			}
		}
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "NETWORK\tTCP\tUDP\tREFUSED (FULL)\tREFUSED (POLICY)\tDIAL FAILED\tICMP")
		for _, ct := range cts {
			icmp := fmt.Sprintf("%d forwarded, %d dropped", ct.Stats.ICMPForwarded, ct.Stats.ICMPDropped)
			if ct.Stats.ICMPUnsupported != "" {
				icmp += " (unsupported, see below)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", ct.Network, ct.Stats.TCPFlows, ct.Stats.UDPFlows, ct.Stats.RefusedFull, ct.Stats.RefusedPolicy, ct.Stats.DialFailed, icmp)
		}
	}); err != nil {
		return err
	}
	var notes icmpNotes
	for _, ct := range cts {
		notes.add(ct.Network, ct.Stats.ICMPUnsupported)
	}
	notes.print(out)
	return nil
}

func cmdPublish(args []string, out io.Writer) error {
	fs := newFlags("publish")
	var cf clientFlags
	var req api.PublishRequest
	cf.register(fs)
	fs.StringVar(&req.Path, "path", api.PathBoth, "both (kernel DNAT and userspace proxy), kernel or userspace")
	pos, err := parse(fs, args, 2, 2, "publish NETWORK [HOSTIP:]HOSTPORT[-END]:ENDPOINT:PORT[-END][/tcp|/udp] [--path both|kernel|userspace]")
	if err != nil {
		return err
	}
	req.Spec = pos[1]
	p, err := cf.client().Publish(context.Background(), pos[0], req)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, p)
	}
	fmt.Fprintf(out, "%s %s → %s (%s)\n", p.Network, p.Spec, p.Backend, p.Path)
	if p.Note != "" {
		fmt.Fprintf(out, "note: %s\n", p.Note)
	}
	return nil
}

func cmdPorts(args []string, out io.Writer) error {
	fs := newFlags("ports")
	var cf clientFlags
	cf.register(fs)
	repair := fs.Bool("repair", false, "re-create the daemon's nftables table with every live mapping if it is missing or damaged")
	if _, err := parse(fs, args, 0, 0, "ports"); err != nil {
		return err
	}
	if *repair {
		r, err := cf.client().RepairPorts(context.Background())
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(out, r)
		}
		fmt.Fprintln(out, r.Message)
	}
	ps, err := cf.client().Ports(context.Background())
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(out, ps)
	}
	return table(out, "NETWORK\tSPEC\tBACKEND\tPATH\tACTIVE\tREFUSED\tEXPIRED\tNOTE", func(tw io.Writer) {
		for _, p := range ps {
			active, refused, expired := "-", "-", "-"
			if p.Proxy != nil {
				active, refused, expired = fmt.Sprint(p.Proxy.Active), fmt.Sprint(p.Proxy.Refused), fmt.Sprint(p.Proxy.Expired)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Network, p.Spec, p.Backend, p.Path, active, refused, expired, p.Note)
		}
	})
}
