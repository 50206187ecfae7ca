package rootless

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// TestDiffRealSlirp4netns runs the installed slirp4netns and ParseArgs on
// the same command lines and compares stdout, stderr and exit status. It
// needs SWITCHYARD_S4NN_DIFF=1 and slirp4netns in PATH. Every target is a
// PID above pid_max or a path that does not exist, so the real binary
// never attaches to anything: a command line it accepts fails in its child
// with "/proc/999999/ns/net: No such file or directory".
func TestDiffRealSlirp4netns(t *testing.T) {
	nstest.OptIn(t, "SWITCHYARD_S4NN_DIFF", "the comparisons with the installed slirp4netns (CI does)")
	bin, err := exec.LookPath("slirp4netns")
	if err != nil {
		nstest.Skip(t, "slirp4netns not installed")
	}
	dir := t.TempDir()
	for _, args := range diffCases() {
		compareReal(t, bin, dir, args)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 400 {
		compareReal(t, bin, dir, randomArgs(rng))
	}
}

func diffCases() [][]string {
	var out [][]string
	for _, s := range []string{
		"", "1", "--foo 999999 tap0", "-x", "--mtu", "-m 0 999999 tap0", "-m 65521 999999 tap0",
		"-m 4294967297 999999 tap0", "-m ~1500 999999 tap0", "-m 1500~ 999999 tap0", "-e 4294967299 999999 tap0",
		"--exit-fd= 999999 tap0", "-r ~+3 999999 tap0", "999999", "999999 tap0 extra", "--conf 999999 tap0",
		"--v=1", "--help=x", "-c6", "-6m1500 999999 tap0", "--no-host 999999 tap0", "--create-sandbox 999999 tap0",
		"--enable-seccomp 999999 tap0", "--enable-s 999999 tap0", "--cidr 10.0.2.0/26 999999 tap0",
		"--cidr 10.0.2.1/24 999999 tap0", "--cidr 1.2.3.4/33 999999 tap0", "--cidr 1.2.3/8 999999 tap0",
		"--cidr 256.0.0.0/8 999999 tap0", "--cidr ~10.0.0.0/8 999999 tap0", "--cidr 10.0.0.0/8/8 999999 tap0",
		"--outbound-addr=lo 999999 tap0", "--outbound-addr=nosuchif 999999 tap0", "--outbound-addr=1.2.3.4 999999 tap0",
		"--outbound-addr6=::1 999999 tap0", "--outbound-addr6=lo 999999 tap0", "--outbound-addr=lo --outbound-addr6=lo 999999 tap0",
		"--outbound-addr6=fe80::1%lo 999999 tap0", "--outbound-addr6=1.2.3.4 999999 tap0",
		"-c --macaddress=aa:bb 999999 tap0", "-c --macaddress=0x 999999 tap0", "-c --macaddress=-1 999999 tap0",
		"-c --macaddress=-ffffffff 999999 tap0", "-c --macaddress=100000000 999999 tap0", "-c --macaddress= 999999 tap0",
		"-c --macaddress=: 999999 tap0", "-c --macaddress=1:2:3:4:5:6: 999999 tap0", "-c --macaddress=1:2:3:4:5: 999999 tap0",
		"-c --macaddress=~a:~b 999999 tap0", "--userns-path=/proc/self/ns/user 999999 tap0", "--userns-path= 999999 tap0",
		"--netns-type=path /nonexist/x tap0", "--netns-type=path '' tap0", "--netns-type=path /etc/passwd/x tap0",
		"--target-type=bess a b", "--target-type=bess -c x", "--target-type=foo 999999 tap0",
		"-a /tmp/s.sock -- 999999 tap0 -h", "-- -h", "- 999999", "999999 tap0 -v",
	} {
		out = append(out, splitArgs(s))
	}
	return out
}

// randomArgs draws a command line from fragments, good and bad.
func randomArgs(rng *rand.Rand) []string {
	frags := []string{"-c", "-6", "-m 1500", "-m 0", "-m x", "--mtu=65520", "-e 3", "-e -1", "-r 4", "-r4", "-ce3",
		"--cidr 10.0.3.0/24", "--cidr 10.0.3.1/24", "--cidr x", "--disable-host-loopback", "--netns-type=path",
		"--netns-type=pid", "--userns-path=/proc/self/ns/user", "--userns-path=/nonexist", "-a /tmp/x.sock",
		"--enable-sandbox", "--enable-seccomp", "--outbound-addr=lo", "--outbound-addr6=::1", "--disable-dns",
		"--macaddress=aa:bb:cc:dd:ee:ff", "--macaddress=zz", "--target-type=netns", "--target-type=bad",
		"--bogus", "--dis", "-q", "--mtu", "--", "999999", "tap0", "abc", "/nonexist", "-"}
	n := rng.IntN(6)
	var args []string
	for range n {
		args = append(args, splitArgs(frags[rng.IntN(len(frags))])...)
	}
	switch rng.IntN(4) {
	case 0:
		args = append(args, "999999", "tap0")
	case 1:
		args = append([]string{"999999"}, args...)
		args = append(args, "tap0")
	}
	return args
}

func compareReal(t *testing.T, bin, dir string, args []string) {
	t.Helper()
	_, perr := ParseArgs(args)
	var ee *ExitError
	if errors.Is(perr, ErrUnsupported) {
		return // the real one would wait for a BESS peer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Args[0] = "slirp4netns"
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	code := 0
	var xe *exec.ExitError
	if errors.As(runErr, &xe) {
		code = xe.ExitCode()
	} else if runErr != nil {
		t.Fatalf("%q: %v", args, runErr)
	}
	realAccepted := strings.Contains(stderr.String(), "/proc/999999/ns/net: No such file or directory\nchild failed(1)\n")
	switch {
	case perr == nil:
		if !realAccepted {
			t.Errorf("%q: we accept; real: code %d stderr %q", args, code, stderr.String())
		}
		// The real one's forked child flushes the same buffered stdout again.
		var w string
		opts, _ := ParseArgs(args)
		for _, l := range opts.Warnings {
			w += l + "\n"
		}
		if stdout.String() != w+w {
			t.Errorf("%q: warnings %q; real stdout %q", args, w, stdout.String())
		}
	case errors.As(perr, &ee):
		if realAccepted && strings.Contains(ee.Stderr, "API socket path is too long") {
			return // the real one checks this later, after joining the namespace
		}
		if errors.Is(perr, ErrVersion) {
			if code != 0 || !strings.HasPrefix(stdout.String(), "slirp4netns version ") {
				t.Errorf("%q: real: code %d stdout %q", args, code, stdout.String())
			}
			return
		}
		// Our additions: the --pcap help line and option.
		ourOut := strings.Replace(ee.Stdout, "--pcap=FILE              write the TAP traffic to FILE as pcap (switchyard)\n", "", 1)
		ourErr := strings.Replace(ee.Stderr, " '--pcap'", "", 1)
		if ee.Code != code || ourErr != stderr.String() || ourOut != stdout.String() {
			t.Errorf("%q:\nours code %d stderr %q stdout %.200q\nreal code %d stderr %q stdout %.200q",
				args, ee.Code, ee.Stderr, ee.Stdout, code, stderr.String(), stdout.String())
		}
	default:
		t.Errorf("%q: %v", args, perr)
	}
}
