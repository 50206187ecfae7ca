package portmap

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// dockerLike builds Docker's iptables-nft filter layout in ns with
// iptables itself: FORWARD policy DROP jumping to DOCKER-USER, which
// returns (withUser false: the drop policy alone).
func dockerLike(t *testing.T, ns string, withUser bool) {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		nstest.Skip(t, "needs iptables (iptables-nft) to build Docker's chains")
	}
	cmds := [][]string{{"iptables", "-P", "FORWARD", "DROP"}}
	if withUser {
		cmds = append(cmds, []string{"iptables", "-N", "DOCKER-USER"}, []string{"iptables", "-A", "DOCKER-USER", "-j", "RETURN"},
			[]string{"iptables", "-A", "FORWARD", "-j", "DOCKER-USER"})
	}
	for _, c := range cmds {
		if out, err := nstest.Exec(ns, c...); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
}

// userRules is `iptables -S DOCKER-USER` in ns: iptables must still be
// able to read the chain (Docker's own rule checks depend on it).
func userRules(ns string) (string, error) {
	out, err := nstest.Exec(ns, "iptables", "-S", "DOCKER-USER")
	if err != nil {
		return "", fmt.Errorf("iptables -S DOCKER-USER: %v: %s", err, out)
	}
	return out, nil
}

func TestFirewallDockerUser(t *testing.T) {
	nstest.RequireNetAdmin(t)
	ns := nstest.NewNetns(t)
	dockerLike(t, ns, true)
	inNetnsAt(t, ns, func(ns string) error {
		const table = "switchyard-fwtest"
		r, err := OpenRules(table, "")
		if err != nil {
			return err
		}
		defer r.Close()
		if _, err := r.AddHostPort("syfw0"); err != nil {
			return err
		}
		f, err := r.CheckFirewall()
		if err != nil || !f.Passing || f.Drop != "table ip filter chain FORWARD" || f.Blocked() != "" {
			return fmt.Errorf("firewall %+v (%v), want passing through DOCKER-USER", f, err)
		}
		got, err := userRules(ns)
		if err != nil {
			return err
		}
		for _, want := range []string{
			`-A DOCKER-USER -o syfw0 -m conntrack --ctstate DNAT -m comment --comment "switchyard-fwtest: published flows to syfw0" -j ACCEPT`,
			`-A DOCKER-USER -i syfw0 -m conntrack --ctstate DNAT -m comment --comment "switchyard-fwtest: published flows from syfw0" -j ACCEPT`,
		} {
			if !strings.Contains(got, want) {
				return fmt.Errorf("DOCKER-USER lacks\n%s\nhas:\n%s", want, got)
			}
		}
		// Docker's rule stays last and iptables still checks it.
		if lines := strings.Split(got, "\n"); lines[len(lines)-1] != "-A DOCKER-USER -j RETURN" {
			return fmt.Errorf("Docker's RETURN is not last:\n%s", got)
		}
		if out, err := nstest.Exec(ns, "iptables", "-C", "DOCKER-USER", "-j", "RETURN"); err != nil {
			return fmt.Errorf("iptables -C: %v %s", err, out)
		}
		// A rule deleted by hand: repair says so and re-adds it.
		if out, err := nstest.Exec(ns, "iptables", "-D", "DOCKER-USER", "1"); err != nil {
			return fmt.Errorf("iptables -D: %v %s", err, out)
		}
		if f, _ := r.CheckFirewall(); f.Passing || !strings.Contains(f.Blocked(), "--repair") {
			return fmt.Errorf("after deleting a rule: %+v %q", f, f.Blocked())
		}
		msg, err := r.Repair()
		if err != nil || !strings.Contains(msg, "accept rules for syfw0 were missing") {
			return fmt.Errorf("repair: %q %v", msg, err)
		}
		if got, _ := userRules(ns); strings.Count(got, "syfw0 -m conntrack") != 2 {
			return fmt.Errorf("after repair:\n%s", got)
		}
		// Removed with the host port; Docker's rule stays.
		if _, err := r.DelHostPort("syfw0"); err != nil {
			return err
		}
		if got, _ := userRules(ns); got != "-N DOCKER-USER\n-A DOCKER-USER -j RETURN" {
			return fmt.Errorf("after removing the host port:\n%s", got)
		}
		return nil
	})
}

func TestFirewallLeftoverAndClose(t *testing.T) {
	nstest.RequireNetAdmin(t)
	ns := nstest.NewNetns(t)
	dockerLike(t, ns, true)
	inNetnsAt(t, ns, func(ns string) error {
		const table = "switchyard-fwleft"
		r, err := OpenRules(table, "")
		if err != nil {
			return err
		}
		if _, err := r.AddHostPort("syfw1"); err != nil {
			r.Close()
			return err
		}
		// Another daemon's rules are never touched.
		if out, err := nstest.Exec(ns, "iptables", "-I", "DOCKER-USER", "-o", "syother", "-m", "comment",
			"--comment", "switchyard-other: published flows to syother", "-j", "ACCEPT"); err != nil {
			r.Close()
			return fmt.Errorf("%v %s", err, out)
		}
		// A crashed instance's rules: the next one takes them over.
		r2, err := OpenRules(table, "")
		if err != nil {
			r.Close()
			return err
		}
		got, _ := userRules(ns)
		if strings.Contains(got, "syfw1") || !strings.Contains(got, "syother") {
			r2.Close()
			return fmt.Errorf("after the restart:\n%s", got)
		}
		if _, err := r2.AddHostPort("syfw1"); err != nil {
			r2.Close()
			return err
		}
		if err := r2.Close(); err != nil {
			return err
		}
		got, _ = userRules(ns)
		if strings.Contains(got, "syfw1") || !strings.Contains(got, "syother") || !strings.HasSuffix(got, "-A DOCKER-USER -j RETURN") {
			return fmt.Errorf("after close:\n%s", got)
		}
		// RemoveLeftover drops them too.
		r3, err := OpenRules(table, "")
		if err != nil {
			return err
		}
		r3.AddHostPort("syfw1")
		r3.conn.CloseLasting() // as if killed
		msg, err := RemoveLeftover(table)
		if err != nil || !strings.Contains(msg, "removed") {
			return fmt.Errorf("remove leftover: %q %v", msg, err)
		}
		if got, _ := userRules(ns); strings.Contains(got, "syfw1") {
			return fmt.Errorf("after RemoveLeftover:\n%s", got)
		}
		return nil
	})
}

func TestFirewallDropWithoutUserChain(t *testing.T) {
	nstest.RequireNetAdmin(t)
	ns := nstest.NewNetns(t)
	dockerLike(t, ns, false)
	inNetnsAt(t, ns, func(string) error {
		f, err := CheckFirewall()
		if err != nil {
			return err
		}
		if !strings.Contains(f.Blocked(), "table ip filter chain FORWARD has policy drop and there is no DOCKER-USER chain") {
			return fmt.Errorf("blocked: %q (%+v)", f.Blocked(), f)
		}
		r, err := OpenRules("switchyard-fwnouser", "")
		if err != nil {
			return err
		}
		defer r.Close()
		r.AddHostPort("syfw2")
		if f, _ := r.PassFirewall(); f.Blocked() == "" {
			return fmt.Errorf("passing without DOCKER-USER: %+v", f)
		}
		return nil
	})
}
