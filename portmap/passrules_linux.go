package portmap

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/nftables"
)

// passWant is the accept rules a foreign drop policy calls for: two per
// host port (published flows to it, their replies from it), by comment.
func (r *Rules) passWant(f Firewall) map[string][2]string {
	want := map[string][2]string{}
	if f.Drop == "" || !f.UserChain {
		return want
	}
	for ifname := range r.hostIfs {
		for _, dir := range []string{"to", "from"} {
			want[passComment(r.table.Name, dir, ifname)] = [2]string{dir, ifname}
		}
	}
	return want
}

// syncFirewall makes the rules' accept rules in DOCKER-USER match its host
// ports while a foreign forward-hook drop policy is present (and removes
// them when none is), in one transaction, and records the outcome; r.mu
// held. It returns the host ports whose rules it found missing.
func (r *Rules) syncFirewall() (missing []string) {
	f, err := checkFirewall(r.conn, r.table.Family)
	if err != nil {
		r.fw = Firewall{Err: err.Error()}
		return nil
	}
	ch := userChain(r.table.Family)
	var have map[string]*nftables.Rule
	if f.UserChain {
		if have, err = ownRules(r.conn, ch, r.table.Name); err != nil {
			f.Err = err.Error()
			r.fw = f
			return nil
		}
	}
	want := r.passWant(f)
	c, err := tx()
	if err != nil {
		f.Err = err.Error()
		r.fw = f
		return nil
	}
	changes := 0
	for comment, rule := range have {
		if _, ok := want[comment]; !ok {
			rule.Table, rule.Chain = ch.Table, ch
			if err := c.DelRule(rule); err == nil {
				changes++
			}
		}
	}
	seen := map[string]bool{}
	for comment, w := range want {
		if have[comment] == nil {
			c.InsertRule(passRule(ch, w[0], w[1], comment))
			changes++
			if !seen[w[1]] {
				seen[w[1]] = true
				missing = append(missing, w[1])
			}
		}
	}
	if changes > 0 {
		if err := c.Flush(); err != nil {
			f.Err = fmt.Sprintf("table %s filter chain %s: %v", familyName(ch.Table.Family), ch.Name, err)
			r.fw = f
			return nil
		}
	}
	f.Passing = f.UserChain
	r.fw = f
	sort.Strings(missing)
	return missing
}

// PassFirewall lets the host ports' published flows through a foreign
// forward-hook drop policy where it can (accept rules in DOCKER-USER,
// added when missing) and returns what it found.
func (r *Rules) PassFirewall() (Firewall, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return Firewall{}, ErrClosed
	}
	r.syncFirewall()
	return r.fw, nil
}

// CheckFirewall reports, without changing anything, whether a foreign
// forward-hook drop policy stops the kernel path: Passing only when every
// host port's accept rules are in DOCKER-USER.
func (r *Rules) CheckFirewall() (Firewall, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return Firewall{}, ErrClosed
	}
	f, err := checkFirewall(r.conn, r.table.Family)
	if err != nil || f.Drop == "" || !f.UserChain {
		return f, err
	}
	have, err := ownRules(r.conn, userChain(r.table.Family), r.table.Name)
	if err != nil {
		return f, err
	}
	f.Passing = true
	for comment := range r.passWant(f) {
		if have[comment] == nil {
			f.Passing = false
		}
	}
	return f, nil
}

// firewallRepairMsg says which host ports' accept rules were re-added;
// fresh is a host port just added (its rules are new, not repaired).
func firewallRepairMsg(missing []string, fresh string) string {
	var re []string
	for _, m := range missing {
		if m != fresh {
			re = append(re, m)
		}
	}
	if len(re) == 0 {
		return ""
	}
	return fmt.Sprintf("accept rules for %s were missing from table ip filter chain %s: re-added them", strings.Join(re, ", "), userChainName)
}

// dropPassRules deletes every accept rule of table in DOCKER-USER (at
// shutdown, or left by a crashed predecessor); it touches no other rule.
func dropPassRules(c *nftables.Conn, table string, family nftables.TableFamily) (int, error) {
	ch := userChain(family)
	have, err := ownRules(c, ch, table)
	if err != nil || len(have) == 0 {
		return 0, err
	}
	for _, rule := range have {
		rule.Table, rule.Chain = ch.Table, ch
		if err := c.DelRule(rule); err != nil {
			return 0, err
		}
	}
	if err := c.Flush(); err != nil {
		return 0, fmt.Errorf("nftables: delete accept rules from chain %s: %w", ch.Name, err)
	}
	return len(have), nil
}

// afterHostPorts brings the accept rules in DOCKER-USER in line with the
// host ports and adds what it repaired to repaired.
func (r *Rules) afterHostPorts(repaired, fresh string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return repaired
	}
	if msg := firewallRepairMsg(r.syncFirewall(), fresh); msg != "" {
		return joinMsg(repaired, msg)
	}
	return repaired
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
