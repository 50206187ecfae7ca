package main

import (
	"strings"
	"testing"
)

// TestBenchCLI checks the bench subcommands' help and command-line errors
// (nothing is measured).
func TestBenchCLI(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"bench"}, 2, "", "rootless flags:"},
		{[]string{"bench", "--help"}, 0, "switch|nat|capture|proxy|rootless", ""},
		{[]string{"bench", "frobnicate"}, 2, "", `want "switch", "nat", "capture", "proxy", "rootless", "uplink" or "overlay"`},
		{[]string{"bench", "rootless", "--help"}, 0, "Usage: switchyard bench rootless", ""},
		{[]string{"bench", "rootless", "--bogus"}, 2, "", "switchyard bench rootless: unknown flag: --bogus"},
		{[]string{"bench", "rootless", "--mtu", "big"}, 2, "", "invalid argument"},
		{[]string{"bench", "rootless", "extra"}, 2, "", `unexpected arguments ["extra"]`},
		{[]string{"bench", "proxy", "--help"}, 0, "Usage: switchyard bench proxy", ""},
		{[]string{"bench", "proxy", "--mappings", "-1"}, 2, "", "--mappings must not be negative"},
		{[]string{"bench", "proxy", "--bogus"}, 2, "", "switchyard bench proxy: unknown flag: --bogus"},
		{[]string{"bench", "peer", "udp-rr-client", "--help"}, 0, "--timeout", ""},
		{[]string{"bench", "capture", "--help"}, 0, "Usage: switchyard bench capture", ""},
		{[]string{"bench", "capture", "--bogus"}, 2, "", "switchyard bench capture: unknown flag: --bogus"},
		{[]string{"bench", "capture", "--mtu", "big"}, 2, "", "invalid argument"},
		{[]string{"bench", "capture", "extra"}, 2, "", `unexpected arguments ["extra"]`},
	}
	for _, tc := range cases {
		stdout, stderr, code := sy(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("switchyard %v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.args, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
	stdout, _, _ := sy(t, "bench", "capture", "--help")
	for _, flag := range []string{"--out", "--duration", "--mtu", "--filter", "host 192.0.2.99"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("bench capture --help lacks %q:\n%s", flag, stdout)
		}
	}
	stdout, _, _ = sy(t, "bench", "rootless", "--help")
	for _, flag := range []string{"--out", "--duration", "--mtu", "1500,65520", "--topology", "--pasta", "--slirp4netns"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("bench rootless --help lacks %q:\n%s", flag, stdout)
		}
	}
	stdout, _, _ = sy(t, "bench", "proxy", "--help")
	for _, flag := range []string{"--out", "--duration", "--mappings", "--start-limit", "/usr/sbin/docker-proxy"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("bench proxy --help lacks %q:\n%s", flag, stdout)
		}
	}
}
