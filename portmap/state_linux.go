package portmap

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

// IPForward is the sysctl the kernel path needs on; a variable so tests
// can point it elsewhere.
var IPForward = "/proc/sys/net/ipv4/ip_forward"

// forwardMark, in the comment of the forward chain's first rule, records
// the ip_forward value the table's owner changed, so that a restarted
// daemon still knows what to restore after a crash.
const forwardMark = "ip_forward was "

func (r *Rules) forwardNote() string {
	note := "published flows and their replies"
	if r.oldForward != "" {
		note += "; " + forwardMark + r.oldForward
	}
	return note
}

// leftoverForward reads the ip_forward value recorded in a table left by
// a previous instance; ok is false when there is no such table.
func leftoverForward(c *nftables.Conn, t *nftables.Table) (old string, ok bool) {
	if _, err := c.ListTableOfFamily(t.Name, t.Family); err != nil {
		return "", false
	}
	rules, err := c.GetRules(t, &nftables.Chain{Name: "forward", Table: t})
	if err != nil {
		return "", true
	}
	for _, rule := range rules {
		comment, _ := userdata.GetString(rule.UserData, userdata.TypeComment)
		if _, v, found := strings.Cut(comment, forwardMark); found {
			return v, true
		}
	}
	return "", true
}

// otherTables reads the ip_forward value recorded by the tables of other
// switchyard daemons in this namespace (forwarding is one sysctl for all
// of them); others is false when there are none.
func otherTables(c *nftables.Conn, self string) (recorded string, others bool) {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return "", false
	}
	for _, t := range tables {
		if t.Name == self || !strings.HasPrefix(t.Name, TablePrefix+"-") {
			continue
		}
		others = true
		if old, _ := leftoverForward(c, t); old != "" {
			recorded = old
		}
	}
	return recorded, others
}

// enableForwarding turns IPv4 forwarding on and returns the value to
// restore: the one a predecessor recorded (left), the current one when it
// was off, or the one another live daemon recorded when that daemon turned
// it on; "" when there is nothing to restore.
func enableForwarding(left, others string) (string, error) {
	cur, err := os.ReadFile(IPForward)
	if err != nil {
		return "", fmt.Errorf("kernel path: read %s: %w", IPForward, err)
	}
	old := strings.TrimSpace(string(cur))
	if old != "1" {
		if err := os.WriteFile(IPForward, []byte("1"), 0o644); err != nil {
			return "", fmt.Errorf("kernel path: enable IPv4 forwarding: %w", err)
		}
	} else {
		old = others
	}
	if left != "" {
		old = left
	}
	return old, nil
}

// restoreForwarding writes back what enableForwarding changed.
func restoreForwarding(old string) error {
	if old == "" {
		return nil
	}
	if err := os.WriteFile(IPForward, []byte(old), 0o644); err != nil {
		return fmt.Errorf("kernel path: restore ip_forward=%s: %w", old, err)
	}
	return nil
}

// RemoveLeftover deletes the table a crashed previous instance of the same
// daemon left, restoring the ip_forward value it recorded. It says what it
// removed ("" when there was nothing).
func RemoveLeftover(table string) (string, error) {
	c, err := nftables.New()
	if err != nil {
		return "", fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
	passed, perr := dropPassRules(c, table, t.Family)
	if perr != nil {
		return "", perr
	}
	old, ok := leftoverForward(c, t)
	if !ok {
		if passed > 0 {
			return fmt.Sprintf("removed %d accept rules of %s from chain %s left by a previous instance", passed, table, userChainName), nil
		}
		return "", nil
	}
	c.DelTable(t)
	if err := c.Flush(); err != nil {
		return "", fmt.Errorf("nftables: delete leftover table %s: %w", table, err)
	}
	msg := "removed nftables table ip " + table + " left by a previous instance"
	if _, others := otherTables(c, table); others || old == "" {
		return msg, nil
	}
	return msg + "; restored ip_forward=" + old, restoreForwarding(old)
}

// damage describes what is missing from the table; "" when it is intact.
func (r *Rules) damage() string {
	name := "nftables table ip " + r.table.Name
	chains, err := r.conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Sprintf("%s unreadable (%v)", name, err)
	}
	found := map[string]bool{}
	for _, ch := range chains {
		if ch.Table.Name == r.table.Name {
			found[ch.Name] = true
		}
	}
	if len(found) == 0 {
		return name + " was missing"
	}
	for _, chain := range []string{"prerouting", "output", "postrouting", "forward"} {
		if !found[chain] {
			return fmt.Sprintf("%s had no chain %s", name, chain)
		}
		rules, err := r.conn.GetRules(r.table, &nftables.Chain{Name: chain, Table: r.table})
		if err != nil || len(rules) != wantRules[chain] {
			return fmt.Sprintf("%s: chain %s had %d of its %d rules", name, chain, len(rules), wantRules[chain])
		}
	}
	sets, err := r.conn.GetSets(r.table)
	if err != nil || len(sets) != len(r.sets) {
		return fmt.Sprintf("%s had %d of its %d maps and sets", name, len(sets), len(r.sets))
	}
	return ""
}
