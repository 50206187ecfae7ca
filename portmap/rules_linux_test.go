package portmap

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

func nftList(t *testing.T, table string) string {
	t.Helper()
	out, _ := exec.Command("nft", "list", "table", "ip", table).CombinedOutput()
	return string(out)
}

func TestRulesLifecycle(t *testing.T) {
	nstest.RequireNetAdmin(t)
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.Skip(t, "needs nft to inspect the ruleset")
	}
	const table = "switchyard-test"
	r, err := OpenRules(table)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			r.Close()
		}
	}()
	d := DNAT{Proto: "tcp", HostPort: 8080, Dest: netip.MustParseAddrPort("10.90.0.2:80")}
	u := DNAT{Proto: "udp", HostIP: netip.MustParseAddr("192.0.2.7"), HostPort: 5353, Dest: netip.MustParseAddrPort("10.90.0.2:53")}
	for _, x := range []DNAT{d, u} {
		if err := r.AddDNAT(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddMasquerade("sy-test0"); err != nil {
		t.Fatal(err)
	}
	got := nftList(t, table)
	for _, want := range []string{"tcp dport 8080 dnat to 10.90.0.2:80", "ip daddr 192.0.2.7", "udp dport 5353 dnat to 10.90.0.2:53",
		`oifname "sy-test0" masquerade`, "fib daddr type local"} {
		if !strings.Contains(got, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, got)
		}
	}
	if err := r.DelDNAT(d); err != nil {
		t.Fatal(err)
	}
	if err := r.DelDNAT(d); err == nil {
		t.Error("deleting a rule twice succeeded")
	}
	if got := nftList(t, table); strings.Contains(got, "8080") || !strings.Contains(got, "5353") {
		t.Fatalf("after deleting the tcp rule:\n%s", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if got := nftList(t, table); strings.Contains(got, "chain") {
		t.Fatalf("table left after Close:\n%s", got)
	}
}
