package daemon_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// sourceRules returns the `ip rule` lines of ns that select a table by
// source address.
func sourceRules(t *testing.T, ns string) []string {
	t.Helper()
	out, err := nstest.Exec(ns, "ip", "-4", "rule", "show")
	if err != nil {
		t.Fatalf("ip rule in %s: %v %s", ns, err, out)
	}
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "from ") && !strings.Contains(l, "from all") {
			rules = append(rules, strings.TrimSpace(l))
		}
	}
	return rules
}

// TestMultiHomedPublish: an endpoint on two networks, its default route on
// the first, published on the second, answers an external client on
// either path. The userspace path keeps the client's address (the reply
// leaves by the second network thanks to the source rule); the kernel
// path shows the second network's host port. Detach removes the rule.
func TestMultiHomedPublish(t *testing.T) {
	l := startDaemon(t)
	l.network("front", "10.219.1.0/24", 0)
	l.network("back", "10.219.2.0/24", 0)
	m := nstest.NewNetns(t)
	e1 := l.attach("front", m, "10.219.1.20")
	e2 := l.attach("back", m, "10.219.2.20")
	if !e1.DefaultRoute || e1.SourceTable != 0 || e2.DefaultRoute || e2.SourceTable == 0 {
		t.Fatalf("endpoints: %+v %+v; want the default route on front and a source table on back", e1, e2)
	}
	if rules := sourceRules(t, m); len(rules) != 1 || !strings.Contains(rules[0], "from 10.219.2.20 lookup") {
		t.Fatalf("source rules in the endpoint: %q", rules)
	}
	whoami(t, m, "10.219.2.20:80")
	whoami(t, m, "10.219.2.20:81")
	client, clientIP := remoteHost(t, "10.219.0")
	hostIP := "10.219.0.1"

	for _, tc := range []struct {
		spec, path string
		want       func(who string) bool
		what       string
	}{
		{"18180:10.219.2.20:80", api.PathUserspace, func(w string) bool { return w == clientIP }, "the client " + clientIP},
		{"18181:10.219.2.20:81", api.PathKernel, func(w string) bool {
			return strings.HasPrefix(w, "10.219.2.") && w != "10.219.2.1" && w != "10.219.2.20"
		}, "back's host port"},
	} {
		if _, err := l.c.Publish(context.Background(), "back", api.PublishRequest{Spec: tc.spec, Path: tc.path}); err != nil {
			t.Fatalf("publish %s --path %s: %v", tc.spec, tc.path, err)
		}
		if who, err := askWho(client, hostIP+":"+strings.Split(tc.spec, ":")[0]); err != nil || !tc.want(who) {
			t.Errorf("%s path: endpoint saw %q (%v), want %s", tc.path, who, err, tc.what)
		}
	}
	if err := l.c.Detach(context.Background(), "back", e2.Name); err != nil {
		t.Fatal(err)
	}
	if rules := sourceRules(t, m); len(rules) != 0 {
		t.Fatalf("source rules left after detach: %q", rules)
	}
	if out, _ := nstest.Exec(m, "ip", "-4", "route", "show", "table", "all"); strings.Contains(out, "10.219.2.") {
		t.Fatalf("routes of back left after detach:\n%s", out)
	}
}
