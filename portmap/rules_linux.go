package portmap

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Rules is one daemon's own nftables table (family ip): DNAT of published
// ports for external clients (prerouting) and the host's own non-loopback
// addresses (output), masquerade into the networks' host ports, and a
// forward filter that lets host ports carry published flows only. It
// keeps the host ports and mappings it installed, so it can rebuild the
// table whenever it finds it missing or damaged. IPv4 forwarding is on
// while the table exists and restored when it is closed.
type Rules struct {
	mu       sync.Mutex
	conn     *nftables.Conn
	table    *nftables.Table
	sets     map[string]*nftables.Set
	hostIfs  map[string]bool
	mappings map[Mapping]bool
	// oldForward is net.ipv4.ip_forward before the table (or a crashed
	// predecessor's) turned it on; "" when it was on already.
	oldForward string
	// fw is what the last look at a foreign firewall found.
	fw Firewall
}

// ErrClosed is returned by the methods of closed Rules.
var ErrClosed = errors.New("nftables: rules closed")

// sndBuf is the netlink send buffer: one transaction is one message, and
// a 65,535-port shifted range is about 4 MiB of elements.
const sndBuf = 32 << 20

// OpenRules creates the table, replacing whatever a previous instance of
// the same daemon left (its recorded ip_forward value is kept, so Close
// restores what the host had before either), and turns IPv4 forwarding on.
// recorded is the ip_forward value the caller saved elsewhere before a
// restart ("" if none); the table's own record wins.
func OpenRules(table, recorded string) (*Rules, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	r := &Rules{conn: c, table: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table},
		hostIfs: map[string]bool{}, mappings: map[Mapping]bool{}}
	left, _ := leftoverForward(c, r.table)
	others, _ := otherTables(c, table)
	if r.oldForward, err = enableForwarding(left, others); err != nil {
		c.CloseLasting()
		return nil, err
	}
	if err := r.flushBuild(); err != nil {
		restoreForwarding(r.oldForward)
		c.CloseLasting()
		return nil, err
	}
	r.syncFirewall() // drops a predecessor's accept rules
	return r, nil
}

// tx starts a transaction: a connection of its own, so that a
// transaction that fails to encode is dropped, never half sent.
func tx() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithSockOptions(forceSndBuf))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

func forceSndBuf(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndBuf)
	}); err != nil {
		return err
	}
	return serr
}

// OldForward is the ip_forward value Close restores ("" for none).
func (r *Rules) OldForward() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.oldForward
}

// Table is the table's name.
func (r *Rules) Table() string { return r.table.Name }

// Len is the number of mappings installed.
func (r *Rules) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mappings)
}

// flushBuild rebuilds the whole table in one transaction; r.mu held or
// r not shared yet.
func (r *Rules) flushBuild() error {
	c, err := tx()
	if err != nil {
		return err
	}
	if err := r.build(c); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: create table %s: %w", r.table.Name, err)
	}
	return nil
}

// Add installs a mapping in one transaction. When the table was missing
// or damaged it is rebuilt with every live mapping, and repaired says
// what was found.
func (r *Rules) Add(m Mapping) (repaired string, err error) {
	if err := m.Check(); err != nil {
		return "", err
	}
	return r.change(func(c *nftables.Conn) error { return r.queueMapping(c, m, true) },
		func() { r.mappings[m] = true }, func() { delete(r.mappings, m) })
}

// Del removes a mapping in one transaction (rebuilding a damaged table
// without it).
func (r *Rules) Del(m Mapping) (repaired string, err error) {
	r.mu.Lock()
	known := r.mappings[m]
	r.mu.Unlock()
	if !known {
		return "", fmt.Errorf("nftables: no mapping %s", m)
	}
	return r.change(func(c *nftables.Conn) error { return r.queueMapping(c, m, false) },
		func() { delete(r.mappings, m) }, func() { r.mappings[m] = true })
}

// AddHostPort lets a network's host port carry published flows, through
// a foreign forward-hook drop policy too where it can (see PassFirewall).
func (r *Rules) AddHostPort(ifname string) (repaired string, err error) {
	repaired, err = r.change(func(c *nftables.Conn) error { return r.queueHostPort(c, ifname, true) },
		func() { r.hostIfs[ifname] = true }, func() { delete(r.hostIfs, ifname) })
	if err != nil {
		return repaired, err
	}
	return r.afterHostPorts(repaired, ifname), nil
}

// DelHostPort forgets a network's host port.
func (r *Rules) DelHostPort(ifname string) (repaired string, err error) {
	r.mu.Lock()
	known := r.hostIfs[ifname]
	r.mu.Unlock()
	if !known {
		return "", nil
	}
	repaired, err = r.change(func(c *nftables.Conn) error { return r.queueHostPort(c, ifname, false) },
		func() { delete(r.hostIfs, ifname) }, func() { r.hostIfs[ifname] = true })
	if err != nil {
		return repaired, err
	}
	return r.afterHostPorts(repaired, ""), nil
}

// change applies one incremental change (queue, then record it with do),
// or, when the table is damaged, records it and rebuilds everything; undo
// forgets the change if the transaction fails.
func (r *Rules) change(queue func(*nftables.Conn) error, do, undo func()) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return "", ErrClosed
	}
	if damage := r.damage(); damage != "" {
		do()
		if err := r.flushBuild(); err != nil {
			undo()
			return "", fmt.Errorf("%s; rebuilding it: %w", damage, err)
		}
		return r.repairedMsg(damage), nil
	}
	c, err := tx()
	if err != nil {
		return "", err
	}
	if err := queue(c); err != nil {
		return "", err
	}
	if err := c.Flush(); err != nil {
		return "", fmt.Errorf("nftables: table %s: %w", r.table.Name, err)
	}
	do()
	return "", nil
}

// Repair rebuilds the table if it is missing or damaged, re-adds missing
// accept rules in DOCKER-USER (see PassFirewall), and says so; it returns
// "" when nothing was missing.
func (r *Rules) Repair() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return "", ErrClosed
	}
	msg := ""
	if damage := r.damage(); damage != "" {
		if err := r.flushBuild(); err != nil {
			return "", fmt.Errorf("%s; rebuilding it: %w", damage, err)
		}
		msg = r.repairedMsg(damage)
	}
	if fw := firewallRepairMsg(r.syncFirewall(), ""); fw != "" {
		msg = joinMsg(msg, fw)
	}
	if r.fw.Err != "" {
		return msg, fmt.Errorf("letting published flows through the firewall: %s", r.fw.Err)
	}
	return msg, nil
}

func (r *Rules) repairedMsg(damage string) string {
	return fmt.Sprintf("%s: re-created it with %d host ports and %d mappings", damage, len(r.hostIfs), len(r.mappings))
}

// Sync replaces everything the table holds with exactly these host ports
// and mappings, in one transaction: for a restarted daemon re-installing
// the mappings it restored.
func (r *Rules) Sync(hostIfs []string, mappings []Mapping) error {
	for _, m := range mappings {
		if err := m.Check(); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return ErrClosed
	}
	oldIfs, oldMaps := r.hostIfs, r.mappings
	r.hostIfs, r.mappings = map[string]bool{}, map[Mapping]bool{}
	for _, i := range hostIfs {
		r.hostIfs[i] = true
	}
	for _, m := range mappings {
		r.mappings[m] = true
	}
	if err := r.flushBuild(); err != nil {
		r.hostIfs, r.mappings = oldIfs, oldMaps
		return err
	}
	r.syncFirewall()
	return nil
}

// Close removes the table and every rule in it and restores IPv4
// forwarding as it was before OpenRules, unless another switchyard
// daemon's table in the namespace still needs it. Closing twice does
// nothing.
func (r *Rules) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return nil
	}
	_, perr := dropPassRules(r.conn, r.table.Name, r.table.Family)
	r.conn.DelTable(r.table)
	err := r.conn.Flush()
	// Another daemon's table still needs forwarding: it restores the
	// value (it recorded it, or adopted ours when it opened).
	_, others := otherTables(r.conn, r.table.Name)
	r.conn.CloseLasting()
	r.conn = nil
	var ferr error
	if !others {
		ferr = restoreForwarding(r.oldForward)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table %s: %w", r.table.Name, err)
	}
	if perr != nil {
		return perr
	}
	return ferr
}
