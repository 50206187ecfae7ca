package portmap

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// The table's layout; every change of a published mapping or host port
// is an element added to or removed from one of its maps and sets, never
// a rule, so any change is one transaction touching O(1) rules:
//
//	map tcp_range: ip daddr . dport (intervals) -> endpoint address
//	map tcp_port: dport -> endpoint address . port (shifted ranges)
//	map tcp_addrport: ip daddr . dport -> endpoint address . port
//	(the same three for udp)
//	set hostports: the networks' host-port interfaces
//	prerouting (dstnat): fib daddr type local, then each map
//	output (dstnat): the same for ip daddr != 127.0.0.0/8
//	postrouting (srcnat): oifname @hostports masquerade
//	forward (filter): ct status dnat accept; iifname/oifname @hostports drop
var (
	protos    = []string{"tcp", "udp"}
	wantRules = map[string]int{"prerouting": 6, "output": 6, "postrouting": 1, "forward": 3}
)

const hostPortsSet = "hostports"

// mapName names a protocol's map of one kind.
func mapName(proto string, k mapKind) string {
	return proto + [...]string{"_range", "_port", "_addrport"}[k]
}

// newMap describes a protocol's map of one kind.
func (r *Rules) newMap(proto string, k mapKind) *nftables.Set {
	addrPort := nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
	s := &nftables.Set{Table: r.table, Name: mapName(proto, k), IsMap: true, KeyType: addrPort, DataType: addrPort}
	switch k {
	case kindRange:
		s.Interval, s.Concatenation, s.DataType = true, true, nftables.TypeIPAddr
	case kindPort:
		s.KeyType = nftables.TypeInetService
	case kindAddrPort:
		s.Concatenation = true
	}
	return s
}

// build queues, on c, the deletion of whatever the table holds and its
// re-creation with r's host ports and mappings: one transaction.
func (r *Rules) build(c *nftables.Conn) error {
	c.AddTable(r.table)
	c.DelTable(r.table)
	c.AddTable(r.table)
	r.sets = map[string]*nftables.Set{}
	for _, p := range protos {
		for _, k := range mapKinds {
			s := r.newMap(p, k)
			if err := c.AddSet(s, nil); err != nil {
				return fmt.Errorf("nftables: map %s: %w", s.Name, err)
			}
			r.sets[s.Name] = s
		}
	}
	hp := &nftables.Set{Table: r.table, Name: hostPortsSet, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
	if err := c.AddSet(hp, nil); err != nil {
		return fmt.Errorf("nftables: set %s: %w", hp.Name, err)
	}
	r.sets[hp.Name] = hp
	r.addChains(c, hp)
	for ifname := range r.hostIfs {
		if err := r.queueHostPort(c, ifname, true); err != nil {
			return err
		}
	}
	for m := range r.mappings {
		if err := r.queueMapping(c, m, true); err != nil {
			return err
		}
	}
	return nil
}

// addChains queues the four chains and their fixed rules.
func (r *Rules) addChains(c *nftables.Conn, hp *nftables.Set) {
	chain := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		ch := &nftables.Chain{Name: name, Table: r.table, Type: typ, Hooknum: hook, Priority: prio}
		if typ == nftables.ChainTypeFilter {
			accept := nftables.ChainPolicyAccept
			ch.Policy = &accept
		}
		return c.AddChain(ch)
	}
	pre := chain("prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	out := chain("output", nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	post := chain("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	fwd := chain("forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter)
	add := func(ch *nftables.Chain, comment string, exprs ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: r.table, Chain: ch, Exprs: concat(exprs...),
			UserData: userdata.AppendString(nil, userdata.TypeComment, comment)})
	}
	for _, p := range protos {
		for _, k := range mapKinds {
			set := r.sets[mapName(p, k)]
			// External clients: only to the host's own addresses, never
			// traffic the host merely routes (issue 10 §1).
			add(pre, "published "+set.Name, localDst(), l4proto(p), dnatLookup(set, k))
			// Local clients: the host's own non-loopback addresses
			// (loopback clients reach the userspace path, as with Docker).
			add(out, "published "+set.Name, notLoopbackDst(), localDst(), l4proto(p), dnatLookup(set, k))
		}
	}
	add(post, "replies come back through the host port", ifIn(expr.MetaKeyOIFNAME, hp), []expr.Any{&expr.Masq{}})
	// Host ports forward only published flows and their replies: the host
	// is no router between networks (issue 10 §2).
	add(fwd, r.forwardNote(), ctDNAT(), verdict(expr.VerdictAccept))
	add(fwd, "no forwarding from host ports but published flows", ifIn(expr.MetaKeyIIFNAME, hp), verdict(expr.VerdictDrop))
	add(fwd, "no forwarding to host ports but published flows", ifIn(expr.MetaKeyOIFNAME, hp), verdict(expr.VerdictDrop))
}

// queueHostPort queues adding (or deleting) a host port to the set.
func (r *Rules) queueHostPort(c *nftables.Conn, ifname string, add bool) error {
	el := []nftables.SetElement{{Key: ifnameBytes(ifname)}}
	if add {
		return c.SetAddElements(r.sets[hostPortsSet], el)
	}
	return c.SetDeleteElements(r.sets[hostPortsSet], el)
}

// maxElemsPerMsg keeps a message's element list under netlink's 64 KiB
// attribute limit; a large shifted range is several messages of one
// transaction.
const maxElemsPerMsg = 512

// queueMapping queues adding (or deleting) a mapping's map elements.
func (r *Rules) queueMapping(c *nftables.Conn, m Mapping, add bool) error {
	set := r.sets[mapName(m.Proto, m.kind())]
	els := m.elements()
	for len(els) > 0 {
		n := min(len(els), maxElemsPerMsg)
		batch := make([]nftables.SetElement, n)
		for i, e := range els[:n] {
			batch[i] = nftables.SetElement{Key: e.key, KeyEnd: e.keyEnd}
			if add {
				batch[i].Val = e.val
			}
		}
		var err error
		if add {
			err = c.SetAddElements(set, batch)
		} else {
			err = c.SetDeleteElements(set, batch)
		}
		if err != nil {
			return fmt.Errorf("nftables: %s: %w", m, err)
		}
		els = els[n:]
	}
	return nil
}
