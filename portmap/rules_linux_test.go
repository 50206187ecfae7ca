package portmap

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// inNetns runs fn inside a fresh namespace with ip_forward at 0,
// so the rules and the sysctl touched are the test's own. fn runs on a
// goroutine of its own: it returns its failure instead of calling
// t.Fatal.
func inNetns(t *testing.T, fn func(ns string) error) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.Skip(t, "needs nft to inspect the ruleset")
	}
	inNetnsAt(t, nstest.NewNetns(t), fn)
}

// inNetnsAt is inNetns in an existing namespace ns.
func inNetnsAt(t *testing.T, ns string, fn func(ns string) error) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.Skip(t, "needs nft to inspect the ruleset")
	}
	// A new namespace copies the host's ip_forward
	// (net.core.devconf_inherit_init_net=0): start from 0 explicitly.
	if out, err := nstest.Exec(ns, "sysctl", "-qw", "net.ipv4.ip_forward=0"); err != nil {
		t.Fatal(err, out)
	}
	if err := nsutil.Do(nstest.Path(ns), func() error { return fn(ns) }); err != nil {
		t.Fatal(err)
	}
}

func nftList(ns, table string) string {
	out, _ := nstest.Exec(ns, "nft", "list", "table", "ip", table)
	return out
}

func forwarding() string {
	b, _ := os.ReadFile(IPForward)
	return strings.TrimSpace(string(b))
}

func TestRulesLifecycle(t *testing.T) {
	inNetns(t, func(ns string) error {
		const table = "switchyard-test"
		r, err := OpenRules(table, "")
		if err != nil {
			return err
		}
		defer r.Close()
		if got := forwarding(); got != "1" {
			return fmt.Errorf("ip_forward %s with the table open", got)
		}
		dest := netip.MustParseAddr("10.90.0.2")
		ms := []Mapping{
			{Proto: "tcp", HostPort: 8080, HostEnd: 8080, Dest: dest, DestPort: 80},
			{Proto: "tcp", HostPort: 20000, HostEnd: 20999, Dest: dest, DestPort: 20000},
			{Proto: "udp", HostIP: netip.MustParseAddr("192.0.2.7"), HostPort: 5353, HostEnd: 5354, Dest: dest, DestPort: 53},
		}
		if _, err := r.AddHostPort("sy-test0"); err != nil {
			return err
		}
		for _, m := range ms {
			if _, err := r.Add(m); err != nil {
				return fmt.Errorf("add %s: %v", m, err)
			}
		}
		got := nftList(ns, table)
		for _, want := range []string{
			"8080 : 10.90.0.2 . 80",
			"0.0.0.0/0 . 20000-20999 : 10.90.0.2 }",
			"192.0.2.7 . 5353 : 10.90.0.2 . 53", "192.0.2.7 . 5354 : 10.90.0.2 . 54",
			`"sy-test0"`, "oifname @hostports masquerade", "fib daddr type local",
			"ct status dnat accept", "iifname @hostports drop", "ip_forward was 0",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("ruleset lacks %q:\n%s", want, got)
			}
		}
		if _, err := r.Del(ms[0]); err != nil {
			return err
		}
		if _, err := r.Del(ms[0]); err == nil {
			t.Error("deleting a mapping twice succeeded")
		}
		if got := nftList(ns, table); strings.Contains(got, "8080") || !strings.Contains(got, "20000-20999") {
			return fmt.Errorf("after deleting 8080:\n%s", got)
		}
		if err := r.Close(); err != nil {
			return err
		}
		if got := nftList(ns, table); strings.Contains(got, "chain") {
			return fmt.Errorf("table left after Close:\n%s", got)
		}
		if got := forwarding(); got != "0" {
			return fmt.Errorf("ip_forward %s after Close, want 0 restored", got)
		}
		return nil
	})
}

// TestRulesRepair: a table deleted or flushed by hand is rebuilt with
// every live mapping by the next change or by Repair, which say so.
func TestRulesRepair(t *testing.T) {
	inNetns(t, func(ns string) error {
		const table = "switchyard-test"
		r, err := OpenRules(table, "")
		if err != nil {
			return err
		}
		defer r.Close()
		dest := netip.MustParseAddr("10.90.0.2")
		a := Mapping{Proto: "tcp", HostPort: 8080, HostEnd: 8080, Dest: dest, DestPort: 8080}
		b := Mapping{Proto: "tcp", HostPort: 8081, HostEnd: 8081, Dest: dest, DestPort: 81}
		if _, err := r.Add(a); err != nil {
			return err
		}
		for _, tc := range []struct {
			name, damage string
			do           func() (string, error)
		}{
			{"delete table", "delete table ip " + table, func() (string, error) { return r.Add(b) }},
			{"flush chain", "flush chain ip " + table + " prerouting", func() (string, error) { return r.Repair() }},
			{"delete chain rules", "flush chain ip " + table + " forward", func() (string, error) { return r.Del(b) }},
		} {
			if out, err := nstest.Exec(ns, append([]string{"nft"}, strings.Fields(tc.damage)...)...); err != nil {
				return fmt.Errorf("%s: %v %s", tc.name, err, out)
			}
			msg, err := tc.do()
			if err != nil || !strings.Contains(msg, "re-created") || strings.Contains(msg, "\n") {
				return fmt.Errorf("%s: repair message %q, %v", tc.name, msg, err)
			}
			if got := nftList(ns, table); !strings.Contains(got, ". 8080 : 10.90.0.2") || strings.Count(got, "dport map @") != 12 {
				return fmt.Errorf("%s: after repair:\n%s", tc.name, got)
			}
		}
		if msg, err := r.Repair(); err != nil || msg != "" {
			return fmt.Errorf("repair of an intact table: %q %v", msg, err)
		}
		return nil
	})
}

// TestRemoveLeftover: a crashed daemon's table is removed by its
// successor, which restores the ip_forward value the table recorded.
func TestRemoveLeftover(t *testing.T) {
	inNetns(t, func(ns string) error {
		const table = "switchyard-crashed"
		r, err := OpenRules(table, "")
		if err != nil {
			return err
		}
		r.conn.CloseLasting() // "crash": the table stays, ip_forward stays 1
		if msg, err := RemoveLeftover("switchyard-other"); msg != "" || err != nil {
			return fmt.Errorf("another daemon's table: %q %v", msg, err)
		}
		if got := forwarding(); got != "1" {
			return fmt.Errorf("ip_forward %s", got)
		}
		msg, err := RemoveLeftover(table)
		if err != nil || !strings.Contains(msg, "ip_forward=0") {
			return fmt.Errorf("RemoveLeftover: %q %v", msg, err)
		}
		if got := nftList(ns, table); strings.Contains(got, "chain") {
			return fmt.Errorf("leftover table still there:\n%s", got)
		}
		if got := forwarding(); got != "0" {
			return fmt.Errorf("ip_forward %s after RemoveLeftover, want 0", got)
		}
		return nil
	})
}

// TestForwardingSharedByDaemons: two daemons' tables in one namespace
// share ip_forward: whichever closes first leaves it on for the other,
// the last one restores the value the first one found.
func TestForwardingSharedByDaemons(t *testing.T) {
	for _, firstCloses := range []bool{true, false} {
		inNetns(t, func(ns string) error {
			a, err := OpenRules("switchyard-a", "")
			if err != nil {
				return err
			}
			defer a.Close()
			b, err := OpenRules("switchyard-b", "")
			if err != nil {
				return err
			}
			defer b.Close()
			first, second := a, b
			if !firstCloses {
				first, second = b, a
			}
			if err := first.Close(); err != nil {
				return err
			}
			if got := forwarding(); got != "1" {
				return fmt.Errorf("ip_forward %s with %s still open", got, second.Table())
			}
			if err := second.Close(); err != nil {
				return err
			}
			if got := forwarding(); got != "0" {
				return fmt.Errorf("ip_forward %s after both closed, want 0", got)
			}
			return nil
		})
	}
}
