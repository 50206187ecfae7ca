package rootless

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeParser resolves paths and interfaces without touching the host:
// paths starting with "/exists" exist, interface "eth0" has 192.0.2.1 and
// 2001:db8::1.
var fakeParser = Parser{
	Access: func(path string) error {
		if strings.HasPrefix(path, "/exists") {
			return nil
		}
		return unix.ENOENT
	},
	InterfaceAddr: func(name string, ipv6 bool) (netip.Addr, error) {
		if name != "eth0" {
			return netip.Addr{}, errNoInterface
		}
		if ipv6 {
			return netip.MustParseAddr("2001:db8::1"), nil
		}
		return netip.MustParseAddr("192.0.2.1"), nil
	},
}

// TestParseArgsErrors checks the messages, usage and exit status against
// those observed from slirp4netns 1.2.0 (Debian 12).
func TestParseArgsErrors(t *testing.T) {
	usage := Usage("slirp4netns")
	const noUsage = ""
	for _, tc := range []struct {
		args   string // split on spaces; "''" is an empty argument
		stderr string
		stdout string // usage is appended when withUsage
		usage  bool
		cause  error
	}{
		{"", "", "", true, ErrUsage},
		{"1", "", "", true, ErrUsage},
		{"--foo 1 tap0", "slirp4netns: unrecognized option '--foo'\n", "", true, ErrUsage},
		{"--foo=bar 1 tap0", "slirp4netns: unrecognized option '--foo=bar'\n", "", true, ErrUsage},
		{"-x 1 tap0", "slirp4netns: invalid option -- 'x'\n", "", true, ErrUsage},
		{"-? 1 tap0", "slirp4netns: invalid option -- '?'\n", "", true, ErrUsage},
		{"-c: 1 tap0", "slirp4netns: invalid option -- ':'\n", "", true, ErrUsage},
		{"--mtu", "slirp4netns: option '--mtu' requires an argument\n", "", true, ErrUsage},
		{"--rea", "slirp4netns: option '--ready-fd' requires an argument\n", "", true, ErrUsage},
		{"-r", "slirp4netns: option requires an argument -- 'r'\n", "", true, ErrUsage},
		{"-cm", "slirp4netns: option requires an argument -- 'm'\n", "", true, ErrUsage},
		{"--configure=x 1", "slirp4netns: option '--configure' doesn't allow an argument\n", "", true, ErrUsage},
		{"--conf=x 1", "slirp4netns: option '--configure' doesn't allow an argument\n", "", true, ErrUsage},
		{"--disable 1 tap0", "slirp4netns: option '--disable' is ambiguous; possibilities: '--disable-host-loopback' '--disable-dns'\n", "", true, ErrUsage},
		{"--out=1.2.3.4 1 tap0", "slirp4netns: option '--out=1.2.3.4' is ambiguous; possibilities: '--outbound-addr' '--outbound-addr6'\n", "", true, ErrUsage},
		{"--e", "slirp4netns: option '--e' is ambiguous; possibilities: '--exit-fd' '--enable-ipv6' '--enable-sandbox' '--enable-seccomp'\n", "", true, ErrUsage},
		{"--c", "slirp4netns: option '--c' is ambiguous; possibilities: '--configure' '--cidr' '--create-sandbox'\n", "", true, ErrUsage},
		{"--n", "slirp4netns: option '--n' is ambiguous; possibilities: '--no-host-loopback' '--netns-type'\n", "", true, ErrUsage},
		{"--m=1500", "slirp4netns: option '--m=1500' is ambiguous; possibilities: '--mtu' '--macaddress'\n", "", true, ErrUsage},
		{"--=x", "slirp4netns: option '--=x' is ambiguous; possibilities: '--configure' '--exit-fd' '--ready-fd' '--mtu' '--cidr' '--disable-host-loopback' '--no-host-loopback' '--netns-type' '--userns-path' '--api-socket' '--enable-ipv6' '--enable-sandbox' '--create-sandbox' '--enable-seccomp' '--help' '--version' '--outbound-addr' '--outbound-addr6' '--disable-dns' '--macaddress' '--target-type' '--pcap'\n", "", true, ErrUsage},
		{"--mtu 0 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"--mtu=abc 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-m 65522 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-m -1 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-m 1x 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-m '' 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-m 4294967296 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-m 99999999999999999999 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"--mtu --foo 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"-e x 1 tap0", "exit-fd must be a non-negative integer\n", "", true, ErrUsage},
		{"-e -1 1 tap0", "exit-fd must be a non-negative integer\n", "", true, ErrUsage},
		{"-e 2147483648 1 tap0", "exit-fd must be a non-negative integer\n", "", true, ErrUsage},
		{"-r x 1 tap0", "ready-fd must be a non-negative integer\n", "", true, ErrUsage},
		{"-r3x 1 tap0", "ready-fd must be a non-negative integer\n", "", true, ErrUsage},
		{"0 tap0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"-- -1 tap0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"abc tap0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"12a tap0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"- tap0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"-- --mtu 0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"-c -- -h 1", "PID must be a positive integer\n", "", true, ErrUsage},
		{"--netns-type=pid abc tap0", "PID must be a positive integer\n", "", true, ErrUsage},
		{"--netns-type=path /nonexist tap0", "existing path expected when --netns-type=path: No such file or directory\n", "", true, ErrUsage},
		{"--netns-type=foo 999999 tap0", "existing path expected when --netns-type=path: No such file or directory\n", "", true, ErrUsage},
		{"--netns-type= 999999 tap0", "existing path expected when --netns-type=path: No such file or directory\n", "", true, ErrUsage},
		{"--userns-path=/nonexist 1 tap0", "userns path doesn't exist: /nonexist\n", "", true, ErrUsage},
		{"--target-type=foo 1 tap0", "--target-type must be either \"netns\" or \"bess\"\n", "", true, ErrUsage},
		{"--target-type= 1 tap0", "--target-type must be either \"netns\" or \"bess\"\n", "", true, ErrUsage},
		{"--target-type=netns 1", "", "", true, ErrUsage},
		{"--target-type=bess", "", "", true, ErrUsage},
		{"--target-type=bess -c", "", "", true, ErrUsage},
		{"--target-type=bess a b -c", "too many arguments\n", "", true, ErrUsage},
		{"--target-type=bess -c x", "--configure conflicts with --target-type=bess\n", "", true, ErrUsage},
		{"--netns-type=pid --userns-path=/exists --target-type=bess x", "--netns-type conflicts with --target-type=bess\n", "", true, ErrUsage},
		{"--userns-path=/exists --target-type=bess x", "--userns-path conflicts with --target-type=bess\n", "", true, ErrUsage},
		{"--target-type=bess /tmp/bess.sock", "--target-type=bess is not supported by switchyard\n", "", false, ErrUnsupported},
		{"--macaddress=aa:bb:cc:dd:ee:ff 1 tap0", "--macaddr cannot be specified when --configure or -c is not specified\n", "", true, ErrUsage},
		{"--target-type=foo --macaddress=x 1 t", "--macaddr cannot be specified when --configure or -c is not specified\n", "", true, ErrUsage},
		{"-c --macaddress=zz 1 tap0", "\"zz\" is an invalid MAC address.\nmacaddress has to be a valid MAC address (hex string, 6 bytes, each byte separated by a ':').", "", false, ErrUsage},
		{"-c --macaddress=aa:bb:cc:dd:ee:ff:00 1 tap0", "\"aa:bb:cc:dd:ee:ff:00\" is an invalid MAC address.  Is it too long?\nmacaddress has to be a valid MAC address (hex string, 6 bytes, each byte separated by a ':').", "", false, ErrUsage},
		{"-c --macaddress=aa::bb 1 tap0", "\"aa::bb\" is an invalid MAC address.\nmacaddress has to be a valid MAC address (hex string, 6 bytes, each byte separated by a ':').", "", false, ErrUsage},
		{"--cidr 10.0.2.0/26 1 tap0", "prefix length needs to be 1-25\n", "", false, ErrUsage},
		{"--cidr 10.0.2.0/0 1 tap0", "prefix length needs to be 1-25\n", "", false, ErrUsage},
		{"--cidr 10.0.2.1/24 1 tap0", "CIDR needs to be a network address like 10.0.2.0/24, not like 10.0.2.100/24\n", "", false, ErrUsage},
		{"--cidr 10.0.2.0/08 1 tap0", "CIDR needs to be a network address like 10.0.2.0/24, not like 10.0.2.100/24\n", "", false, ErrUsage},
		{"--cidr 10.0.2.0 1 tap0", "invalid CIDR: 10.0.2.0\n", "", false, ErrUsage},
		{"--cidr 10.0.2.0/123 1 tap0", "invalid CIDR: 10.0.2.0/123\n", "", false, ErrUsage},
		{"--cidr 999.0.2.0/24 1 tap0", "invalid network address: 999.0.2.0\n", "", false, ErrUsage},
		{"--cidr 010.0.2.0/24 1 tap0", "invalid network address: 010.0.2.0\n", "", false, ErrUsage},
		{"--cidr foo 1", "", "", true, ErrUsage},
		{"--cidr 10.0.2.0/26 --mtu 0 1 tap0", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"--outbound-addr=nosuchif 1 tap0", "outbound-addr has to be valid ipv4 address or interface name.", "WARNING: Support for --outbound-addr is experimental\n", false, ErrUsage},
		{"--outbound-addr6=nosuch 1 tap0", "outbound-addr has to be valid ipv4 address or iterface name.", "WARNING: Support for --outbound-addr6 is experimental\n", false, ErrUsage},
		{"--outbound-addr6=eth0 1 tap0", "outbound-addr has to be valid ipv4 address or iterface name.", "WARNING: Support for --outbound-addr6 is experimental\n", false, ErrUsage},
		{"-6 --mtu 0", "MTU must be a positive integer (< 65522)\n", "WARNING: Support for IPv6 is experimental\n", true, ErrUsage},
		{"-c6", "", "WARNING: Support for IPv6 is experimental\n", true, ErrUsage},
		{"-m 0 -h", "MTU must be a positive integer (< 65522)\n", "", true, ErrUsage},
		{"--foo -h", "slirp4netns: unrecognized option '--foo'\n", "", true, ErrUsage},
		{"-a /tmp/" + strings.Repeat("a", 103) + " 1 tap0", "the specified API socket path is too long (>= 108)\n", "", false, ErrUsage},
	} {
		t.Run(tc.args, func(t *testing.T) {
			_, err := fakeParser.Parse(splitArgs(tc.args))
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v; want *ExitError", err)
			}
			wantOut := tc.stdout
			if tc.usage {
				wantOut += usage
			}
			if ee.Code != 1 || ee.Stderr != tc.stderr || ee.Stdout != wantOut || !errors.Is(err, tc.cause) {
				t.Errorf("got code %d cause %v\nstderr %q\nstdout %q\nwant stderr %q\nstdout %q",
					ee.Code, ee.Err, ee.Stderr, ee.Stdout, tc.stderr, wantOut)
			}
			_ = noUsage
		})
	}
}

// splitArgs splits s on spaces; "”" stands for an empty argument, '~'
// for a space inside an argument.
func splitArgs(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if f == "''" {
			f = ""
		}
		f = strings.ReplaceAll(f, "~", " ")
		out = append(out, f)
	}
	return out
}

func TestParseArgsHelpVersion(t *testing.T) {
	for _, tc := range []struct {
		args   string
		cause  error
		stdout string
	}{
		{"-h", ErrHelp, Help()},
		{"--help", ErrHelp, Help()},
		{"--h", ErrHelp, Help()},
		{"-h -m 0", ErrHelp, Help()},
		{"-h --foo", ErrHelp, Help()},
		{"1 tap0 -h", ErrHelp, Help()},
		{"-hv", ErrHelp, Help()},
		{"-6 -h", ErrHelp, "WARNING: Support for IPv6 is experimental\n" + Help()},
		{"-v", ErrVersion, Version()},
		{"--version", ErrVersion, Version()},
		{"--ver", ErrVersion, Version()},
		{"-vh", ErrVersion, Version()},
	} {
		_, err := fakeParser.Parse(splitArgs(tc.args))
		var ee *ExitError
		if !errors.As(err, &ee) || !errors.Is(err, tc.cause) || ee.Code != 0 || ee.Stdout != tc.stdout || ee.Stderr != "" {
			t.Errorf("%q: err %v (%+v)", tc.args, err, ee)
		}
	}
}

func TestParseArgsOK(t *testing.T) {
	def := DefaultOptions()
	with := func(f func(o *Options)) Options {
		o := DefaultOptions()
		o.Target, o.TapName, o.PID = "1", "tap0", 1
		f(&o)
		return o
	}
	for _, tc := range []struct {
		args string
		want Options
	}{
		{"1 tap0", with(func(o *Options) {})},
		// RootlessKit.
		{"--mtu 65520 -r 3 --disable-host-loopback --cidr 10.0.3.0/24 --api-socket /run/s.sock --enable-sandbox --enable-seccomp --enable-ipv6 1 tap0",
			with(func(o *Options) {
				o.MTU, o.ReadyFD, o.DisableHostLoopback = 65520, 3, true
				o.CIDR = netip.MustParsePrefix("10.0.3.0/24")
				o.APISocket, o.EnableSandbox, o.EnableSeccomp, o.EnableIPv6 = "/run/s.sock", true, true, true
				o.Warnings = []string{"WARNING: Support for seccomp is experimental", "WARNING: Support for IPv6 is experimental"}
			})},
		{"--userns-path=/exists/user --netns-type=path /exists/net tap0", with(func(o *Options) {
			o.UsernsPath, o.NetnsType, o.Target, o.PID = "/exists/user", "path", "/exists/net", 0
		})},
		// Podman 4 and 5.
		{"--disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp -c -e 3 -r 4 --netns-type=path /exists/ns tap0", with(func(o *Options) {
			o.DisableHostLoopback, o.MTU, o.EnableSandbox, o.EnableSeccomp, o.Configure = true, 65520, true, true, true
			o.ExitFD, o.ReadyFD, o.NetnsType, o.Target, o.PID = 3, 4, "path", "/exists/ns", 0
			o.Warnings = []string{"WARNING: Support for seccomp is experimental"}
		})},
		{"-r3 -e4 -m1 1 tap0", with(func(o *Options) { o.ReadyFD, o.ExitFD, o.MTU = 3, 4, 1 })},
		{"-c6m1500 1 tap0", with(func(o *Options) {
			o.Configure, o.EnableIPv6, o.Warnings = true, true, []string{"WARNING: Support for IPv6 is experimental"}
		})},
		{"1 -c tap0 --mtu 9000", with(func(o *Options) { o.Configure, o.MTU = true, 9000 })},
		// C conversions: white space, signs, wrap-around, empty = 0.
		{"-m 4294967297 -e 4294967299 --exit-fd= -r ~+3 ~1 tap0", with(func(o *Options) {
			o.MTU, o.ExitFD, o.ReadyFD, o.Target = 1, 0, 3, " 1"
		})},
		{"-m -4294967295 -- 4294967297 tap0", with(func(o *Options) { o.MTU, o.Target = 1, "4294967297" })},
		{"+1 tap0", with(func(o *Options) { o.Target = "+1" })},
		{"--conf --no-host --create-sandbox --disable-d 1 tap0", with(func(o *Options) {
			o.Configure, o.DisableHostLoopback, o.EnableSandbox, o.DisableDNS = true, true, true, true
			o.Warnings = []string{
				"WARNING: --no-host-loopback is deprecated and will be removed in future releases, please use --disable-host-loopback instead.",
				"WARNING: --create-sandbox is deprecated and will be removed in future releases, please use --enable-sandbox instead.",
			}
		})},
		{"1 tap0 extra", with(func(o *Options) { o.Warnings = []string{"WARNING: too many arguments"} })},
		{"-c --macaddress=aa:bb 1 tap0", with(func(o *Options) {
			o.Configure, o.MACAddress = true, []byte{0xaa, 0xbb, 0, 0, 0, 0}
		})},
		{"-c --macaddress=0x1:+2:~3:04zz:5:ff 1 tap0", with(func(o *Options) {
			o.Configure, o.MACAddress = true, []byte{1, 2, 3, 4, 5, 0xff}
		})},
		{"--outbound-addr=192.0.2.9 --outbound-addr6=2001:db8::9 1 tap0", with(func(o *Options) {
			o.OutboundAddr, o.OutboundAddr6 = netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("2001:db8::9")
			o.Warnings = []string{"WARNING: Support for --outbound-addr is experimental", "WARNING: Support for --outbound-addr6 is experimental"}
		})},
		{"--outbound-addr=eth0 --outbound-addr6=eth1 1 tap0", with(func(o *Options) {
			o.OutboundAddr, o.OutboundAddr6 = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
			o.Warnings = []string{"WARNING: Support for --outbound-addr is experimental", "WARNING: Support for --outbound-addr6 is experimental"}
		})},
		{"--target-type=netns --pcap /tmp/x.pcap --cidr 10.0.2.0/25 1 tap1", with(func(o *Options) {
			o.Pcap, o.CIDR, o.TapName = "/tmp/x.pcap", netip.MustParsePrefix("10.0.2.0/25"), "tap1"
		})},
		{"-a /tmp/" + strings.Repeat("a", 102) + " 1 tap0", with(func(o *Options) { o.APISocket = "/tmp/" + strings.Repeat("a", 102) })},
	} {
		got, err := fakeParser.Parse(splitArgs(tc.args))
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", tc.args, got, tc.want)
		}
	}
	if def.ExitFD != -1 || def.ReadyFD != -1 || def.MTU != 1500 || def.CIDR != DefaultCIDR || def.TapName != "tap0" || def.NetnsType != "pid" {
		t.Errorf("defaults: %+v", def)
	}
}

func TestAddrs(t *testing.T) {
	for _, tc := range []struct {
		cidr                               string
		gw, dns, guest, dhcpStart, dhcpEnd string
	}{
		{"10.0.2.0/24", "10.0.2.2", "10.0.2.3", "10.0.2.100", "10.0.2.15", "10.0.2.30"},
		{"192.168.0.0/16", "192.168.0.2", "192.168.0.3", "192.168.0.100", "192.168.0.15", "192.168.0.30"},
		{"10.0.255.0/25", "10.0.255.2", "10.0.255.3", "10.0.255.100", "10.0.255.15", "10.0.255.30"},
	} {
		o := DefaultOptions()
		o.CIDR = netip.MustParsePrefix(tc.cidr)
		a := o.Addrs()
		got := []string{a.Gateway.String(), a.DNS.String(), a.Guest.String(), a.DHCPStart.String(), a.DHCPEnd.String()}
		want := []string{tc.gw, tc.dns, tc.guest, tc.dhcpStart, tc.dhcpEnd}
		if !reflect.DeepEqual(got, want) || a.Network.String() != tc.cidr {
			t.Errorf("%s: got %v want %v", tc.cidr, got, want)
		}
		if a.Network6.String() != "fd00::/64" || a.Gateway6.String() != "fd00::2" || a.DNS6.String() != "fd00::3" {
			t.Errorf("%s: IPv6 %+v", tc.cidr, a)
		}
	}
	if (Options{}).Addrs().Guest.String() != "10.0.2.100" {
		t.Error("zero Options: not the default network")
	}
}
