package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"netwrk", "network"}, {"atach", "attach"}, {"endpoint", "endpoints"}, {"stat", "stats"},
		{"capt", "capture"}, {"xyzzy", ""}, {"unpublsh", "unpublish"},
	} {
		if got := suggest(tc.in); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTakeGlobals(t *testing.T) {
	for _, tc := range []struct {
		in         []string
		want       string
		socket     string
		json, fail bool
	}{
		{in: []string{"network", "ls"}, want: "network ls"},
		{in: []string{"--socket", "/s", "--json", "stats"}, want: "stats", socket: "/s", json: true},
		{in: []string{"--socket=/t", "ports", "--json"}, want: "ports --json", socket: "/t"},
		{in: []string{"--version"}, want: "version"},
		{in: []string{"--help", "attach"}, want: "help attach"},
		{in: []string{"--bogus", "stats"}, fail: true},
	} {
		globals.socket, globals.json = "", false
		got, err := takeGlobals(tc.in)
		if (err != nil) != tc.fail || strings.Join(got, " ") != tc.want || globals.socket != tc.socket || globals.json != tc.json {
			t.Errorf("%q: %q %v (socket %q json %v)", tc.in, got, err, globals.socket, globals.json)
		}
	}
	globals.socket, globals.json = "", false
}

// TestVersionsAgree: switchyard --version, version, docker-proxy -v (also
// through a symlink) and slirp4netns -v report one version.
func TestVersionsAgree(t *testing.T) {
	out, _, code := sy(t, "--version")
	v, ok := strings.CutPrefix(strings.TrimSpace(out), "switchyard version ")
	if code != 0 || !ok || v == "" {
		t.Fatalf("--version: %q, exit %d", out, code)
	}
	if out2, _, _ := sy(t, "version"); out2 != out {
		t.Errorf("version: %q, --version: %q", out2, out)
	}
	link := filepath.Join(t.TempDir(), "docker-proxy")
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	viaLink, err := exec.Command(link, "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	dp, _, _ := sy(t, "docker-proxy", "-v")
	if want := "docker-proxy (switchyard) version " + v + "\n"; dp != want || string(viaLink) != want {
		t.Errorf("docker-proxy -v: %q and %q, want %q", dp, viaLink, want)
	}
	s4, _, _ := sy(t, "slirp4netns", "-v")
	if !strings.HasPrefix(s4, "slirp4netns version 1.2.0+switchyard\n") || !strings.Contains(s4, "\nlibslirp: switchyard "+v+" (gvisor netstack)\n") ||
		!strings.HasSuffix(s4, "\nSLIRP_CONFIG_VERSION_MAX: 4\n") {
		t.Errorf("slirp4netns -v:\n%s", s4)
	}
}

func TestHelpAndUnknownCommands(t *testing.T) {
	for _, cmd := range []string{"attach", "publish", "capture", "stats", "up"} {
		a, _, c1 := sy(t, "help", cmd)
		b, _, c2 := sy(t, cmd, "--help")
		if c1 != 0 || c2 != 0 || a != b || !strings.HasPrefix(a, "Usage: switchyard "+cmd) {
			t.Errorf("help %s (exit %d) and %s --help (exit %d) differ or are wrong:\n%s\n%s", cmd, c1, cmd, c2, a, b)
		}
	}
	for _, args := range [][]string{{"network", "--help"}, {"help", "network"}} {
		out, _, code := sy(t, args...)
		if code != 0 || !strings.Contains(out, "switchyard network create NAME") || !strings.Contains(out, "switchyard network rm") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
	_, stderr, code := sy(t, "netwrk", "ls")
	want := "switchyard: unknown command \"netwrk\"; did you mean \"network\"? See 'switchyard --help'.\n"
	if code != 2 || stderr != want {
		t.Errorf("unknown command: exit %d, %q; want 2, %q", code, stderr, want)
	}
	if _, stderr, code := sy(t, "help", "nope"); code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("help nope: exit %d, %q", code, stderr)
	}
}

// TestGlobalFlagsBeforeCommand: --socket before the command is used.
func TestGlobalFlagsBeforeCommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"--socket", sock, "network", "ls"}, {"--socket=" + sock, "--json", "stats"}} {
		_, stderr, code := sy(t, args...)
		if code != 1 || !strings.Contains(stderr, "not running at "+sock) {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

// TestCompletion: the scripts parse in their shell and list commands and
// flags.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, stderr, code := sy(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "attach") || !strings.Contains(out, "no-resolv-conf") {
			t.Fatalf("completion %s: exit %d %s\n%s", shell, code, stderr, out)
		}
		if shell == "bash" {
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("bash -n: %v %s", err, b)
			}
		}
	}
	if _, _, code := sy(t, "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}
