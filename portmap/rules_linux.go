package portmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Rules is switchyard's own nftables table (family ip): DNAT for published
// ports in prerouting (external clients) and output (the host's own
// non-loopback addresses), and masquerade for traffic leaving through a
// network's host port, so replies come back the way they went.
type Rules struct {
	mu    sync.Mutex
	conn  *nftables.Conn
	table *nftables.Table
	pre   *nftables.Chain
	out   *nftables.Chain
	post  *nftables.Chain
}

// DNAT is one published port's kernel rule.
type DNAT struct {
	Proto    string     // "tcp" or "udp"
	HostIP   netip.Addr // invalid or unspecified: every local address
	HostPort uint16
	Dest     netip.AddrPort
}

func (d DNAT) key() string {
	return fmt.Sprintf("dnat %s %s:%d %s", d.Proto, d.HostIP, d.HostPort, d.Dest)
}

// OpenRules creates (or recreates, dropping stale rules of a previous run)
// the table and its chains.
func OpenRules(table string) (*Rules, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	r := &Rules{conn: c, table: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}}
	c.AddTable(r.table)
	c.DelTable(r.table) // start empty
	c.AddTable(r.table)
	chain := func(name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: r.table, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio})
	}
	r.pre = chain("prerouting", nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	r.out = chain("output", nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	r.post = chain("postrouting", nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	if err := c.Flush(); err != nil {
		c.CloseLasting()
		return nil, fmt.Errorf("nftables: create table %s: %w", table, err)
	}
	return r, nil
}

// AddDNAT installs a published port's rules.
func (r *Rules) AddDNAT(d DNAT) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	match := dnatMatch(d)
	nat := []expr.Any{
		&expr.Immediate{Register: 1, Data: d.Dest.Addr().AsSlice()},
		&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, d.Dest.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
	r.conn.AddRule(&nftables.Rule{Table: r.table, Chain: r.pre, Exprs: concat(match, nat), UserData: []byte(d.key())})
	// Local clients: only to the host's own addresses, never loopback
	// (those reach the userspace proxy, as with Docker).
	local := concat(notLoopbackDst(), localDst(), match, nat)
	r.conn.AddRule(&nftables.Rule{Table: r.table, Chain: r.out, Exprs: local, UserData: []byte(d.key())})
	if err := r.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: add %s: %w", d.key(), err)
	}
	return nil
}

// DelDNAT removes a published port's rules.
func (r *Rules) DelDNAT(d DNAT) error {
	return r.delKey(d.key(), r.pre, r.out)
}

// AddMasquerade masquerades traffic leaving through a host port.
func (r *Rules) AddMasquerade(ifname string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifnameBytes(ifname)},
		&expr.Masq{},
	}
	r.conn.AddRule(&nftables.Rule{Table: r.table, Chain: r.post, Exprs: exprs, UserData: []byte("masq " + ifname)})
	if err := r.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: masquerade %s: %w", ifname, err)
	}
	return nil
}

// DelMasquerade removes a host port's masquerade rule.
func (r *Rules) DelMasquerade(ifname string) error { return r.delKey("masq "+ifname, r.post) }

func (r *Rules) delKey(key string, chains ...*nftables.Chain) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	found := false
	for _, ch := range chains {
		rules, err := r.conn.GetRules(r.table, ch)
		if err != nil {
			return fmt.Errorf("nftables: list %s: %w", ch.Name, err)
		}
		for _, rule := range rules {
			if string(rule.UserData) == key {
				if err := r.conn.DelRule(rule); err != nil {
					return fmt.Errorf("nftables: delete %s: %w", key, err)
				}
				found = true
			}
		}
	}
	if !found {
		return fmt.Errorf("nftables: no rule %q", key)
	}
	if err := r.conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete %s: %w", key, err)
	}
	return nil
}

// Close removes the table and every rule in it.
func (r *Rules) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conn.DelTable(r.table)
	err := r.conn.Flush()
	r.conn.CloseLasting()
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table %s: %w", r.table.Name, err)
	}
	return nil
}
