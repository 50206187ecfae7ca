package rootless

import (
	"regexp"
	"strings"
	"testing"
)

// TestHelpFlags: RootlessKit and Podman detect features by searching the
// help text for these names.
func TestHelpFlags(t *testing.T) {
	h := Help()
	for _, flag := range []string{
		"--netns-type", "--disable-host-loopback", "--mtu", "--enable-sandbox", "--enable-seccomp",
		"--cidr", "--outbound-addr", "--outbound-addr6", "--enable-ipv6", "--userns-path", "--api-socket",
		"--exit-fd", "--ready-fd", "--configure", "--macaddress", "--disable-dns", "--pcap", "--help", "--version",
	} {
		if !strings.Contains(h, flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
	if !strings.HasPrefix(h, "Usage: slirp4netns [OPTION]... PID|PATH [TAPNAME]\n") || !strings.HasSuffix(h, "show version and exit\n") {
		t.Errorf("help:\n%s", h)
	}
	if u := Usage("/usr/bin/slirp4netns"); !strings.HasPrefix(u, "Usage: /usr/bin/slirp4netns [OPTION]") {
		t.Errorf("usage: %s", u)
	}
}

func TestVersion(t *testing.T) {
	want := regexp.MustCompile(`^slirp4netns version 1\.2\.0\+switchyard\ncommit: \S+\nlibslirp: .*switchyard.*\nSLIRP_CONFIG_VERSION_MAX: 4\n$`)
	if v := Version(); !want.MatchString(v) {
		t.Errorf("version:\n%s", v)
	}
	old := Commit
	Commit = "abc123"
	defer func() { Commit = old }()
	if v := Version(); !strings.Contains(v, "\ncommit: abc123\n") {
		t.Errorf("version with Commit:\n%s", v)
	}
}
