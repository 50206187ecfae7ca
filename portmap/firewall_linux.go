package portmap

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// Firewall is what a foreign firewall in the namespace means for the
// kernel path: DNATed flows are forwarded to a network's host port, so a
// base chain of the forward hook with policy drop in another table (as
// dockerd sets when it turns forwarding on itself) drops them unless that
// firewall lets them through.
type Firewall struct {
	// Drop names the foreign forward-hook chain with policy drop ("" when
	// there is none), e.g. "table ip filter chain FORWARD".
	Drop string
	// UserChain says Docker's chain for other tools' rules (DOCKER-USER in
	// table ip filter) exists.
	UserChain bool
	// Passing says the rules' accept rules for every host port are in the
	// user chain.
	Passing bool
	// Err is why adding them failed ("" when it did not).
	Err string
}

// Blocked says why the kernel path cannot serve external clients; "" when
// nothing stops it.
func (f Firewall) Blocked() string {
	switch {
	case f.Drop == "" || f.Passing:
		return ""
	case f.Err != "":
		return fmt.Sprintf("%s has policy drop and adding accept rules to %s failed (%s)", f.Drop, userChainName, f.Err)
	case !f.UserChain:
		return fmt.Sprintf("%s has policy drop and there is no %s chain to let published flows through", f.Drop, userChainName)
	}
	return fmt.Sprintf("%s has policy drop and the accept rules in %s are missing (switchyard ports --repair adds them)", f.Drop, userChainName)
}

// userChainName is the chain where Docker lets other tools add rules;
// it exists in table ip filter (and ip6 filter, for when the kernel path
// gains IPv6) when dockerd runs with iptables-nft.
const userChainName = "DOCKER-USER"

// userChain is the DOCKER-USER chain of a family's filter table.
func userChain(family nftables.TableFamily) *nftables.Chain {
	return &nftables.Chain{Name: userChainName, Table: &nftables.Table{Family: family, Name: "filter"}}
}

// CheckFirewall looks for a foreign forward-hook drop policy and Docker's
// user chain in the namespace (IPv4).
func CheckFirewall() (Firewall, error) {
	c, err := nftables.New()
	if err != nil {
		return Firewall{}, fmt.Errorf("nftables: %w", err)
	}
	return checkFirewall(c, nftables.TableFamilyIPv4)
}

// checkFirewall finds the first base chain of the forward hook with policy
// drop that no switchyard daemon owns, in the family's tables or inet
// tables (which see IPv4 and IPv6), and whether DOCKER-USER exists.
func checkFirewall(c *nftables.Conn, family nftables.TableFamily) (Firewall, error) {
	chains, err := c.ListChains()
	if err != nil {
		return Firewall{}, fmt.Errorf("nftables: list chains: %w", err)
	}
	var f Firewall
	user := userChain(family)
	for _, ch := range chains {
		fam := ch.Table.Family
		if fam != family && fam != nftables.TableFamilyINet {
			continue
		}
		if fam == family && ch.Table.Name == user.Table.Name && ch.Name == user.Name {
			f.UserChain = true
		}
		if f.Drop == "" && isForwardDrop(ch) && !strings.HasPrefix(ch.Table.Name, TablePrefix+"-") {
			f.Drop = fmt.Sprintf("table %s %s chain %s", familyName(fam), ch.Table.Name, ch.Name)
		}
	}
	return f, nil
}

func isForwardDrop(ch *nftables.Chain) bool {
	return ch.Hooknum != nil && *ch.Hooknum == *nftables.ChainHookForward &&
		ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyINet:
		return "inet"
	}
	return fmt.Sprint(f)
}

// passComment is the comment of the accept rule for one host port and
// direction: it names the daemon's table, so the rules are recognisably
// its own and a restarted daemon finds what its predecessor left.
func passComment(table, dir, ifname string) string {
	return fmt.Sprintf("%s: published flows %s %s", table, dir, ifname)
}

// passRule is `[io]ifname IFNAME ct state dnat counter accept` as
// iptables-nft writes `-[io] IFNAME -m conntrack --ctstate DNAT -j
// ACCEPT` (xt conntrack match, comment in the rule's user data), so the
// chain stays readable by iptables and Docker's own rule checks work.
// The DNAT state holds in both directions: published flows in and their
// replies out, nothing else.
func passRule(ch *nftables.Chain, dir, ifname, comment string) *nftables.Rule {
	key := expr.MetaKeyOIFNAME
	if dir == "from" {
		key = expr.MetaKeyIIFNAME
	}
	zero := net.IPv4zero
	if ch.Table.Family == nftables.TableFamilyIPv6 {
		zero = net.IPv6zero
	}
	ct := &xt.ConntrackMtinfo3{ConntrackMtinfo2: xt.ConntrackMtinfo2{
		ConntrackMtinfoBase: xt.ConntrackMtinfoBase{
			OrigSrcAddr: zero, OrigSrcMask: net.IPMask(zero), OrigDstAddr: zero, OrigDstMask: net.IPMask(zero),
			ReplSrcAddr: zero, ReplSrcMask: net.IPMask(zero), ReplDstAddr: zero, ReplDstMask: net.IPMask(zero),
			MatchFlags: uint16(xt.ConntrackState),
		},
		StateMask: ctStateDNAT,
	}}
	exprs := concat(ifIs(key, ifname), []expr.Any{
		&expr.Match{Name: "conntrack", Rev: 3, Info: ct},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictAccept},
	})
	return &nftables.Rule{Table: ch.Table, Chain: ch, Exprs: exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, comment)}
}

// ctStateDNAT is XT_CONNTRACK_STATE_DNAT: 1 << (IP_CT_NUMBER + 2).
const ctStateDNAT = 1 << (5 + 2)

// ownRules returns the rules of chain ch whose comment names table, by
// comment; a missing chain has none.
func ownRules(c *nftables.Conn, ch *nftables.Chain, table string) (map[string]*nftables.Rule, error) {
	rules, err := c.GetRules(ch.Table, ch)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("nftables: list table %s filter chain %s: %w", familyName(ch.Table.Family), ch.Name, err)
	}
	own := map[string]*nftables.Rule{}
	for _, r := range rules {
		comment, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		if strings.HasPrefix(comment, table+": ") {
			own[comment] = r
		}
	}
	return own, nil
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "no such file") || strings.Contains(err.Error(), unix.ENOENT.Error()))
}
