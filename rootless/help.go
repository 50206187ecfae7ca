package rootless

import (
	"runtime/debug"

	"github.com/switchyard/switchyard/version"
	"strings"
)

// VersionString is the version -v reports: slirp4netns's, plus ours.
const VersionString = "1.2.0+switchyard"

// Commit is the commit -v reports. Set it at link time with
// -ldflags "-X github.com/switchyard/switchyard/rootless.Commit=..."; when
// empty, the VCS revision recorded in the binary is used, else "unknown".
var Commit string

// usageBody is slirp4netns 1.2.0's help text after the first line, byte
// for byte (tabs included), with switchyard's --pcap added before -h.
const usageBody = `User-mode networking for unprivileged network namespaces.

-c, --configure          bring up the interface
-e, --exit-fd=FD         specify the FD for terminating slirp4netns
-r, --ready-fd=FD        specify the FD to write to when the network is configured
-m, --mtu=MTU            specify MTU (default=1500, max=65521)
-6, --enable-ipv6        enable IPv6 (experimental)
-a, --api-socket=PATH    specify API socket path
--cidr=CIDR              specify network address CIDR (default=10.0.2.0/24)
--disable-host-loopback  prohibit connecting to 127.0.0.1:* on the host namespace
--netns-type=TYPE 	 specify network namespace type ([path|pid], default=pid)
--userns-path=PATH	 specify user namespace path
--enable-sandbox         create a new mount namespace (and drop all caps except CAP_NET_BIND_SERVICE if running as the root)
--enable-seccomp         enable seccomp to limit syscalls (experimental)
--outbound-addr=IPv4     sets outbound ipv4 address to bound to (experimental)
--outbound-addr6=IPv6    sets outbound ipv6 address to bound to (experimental)
--disable-dns            disables 10.0.2.3 (or configured internal ip) to host dns redirect (experimental)
--macaddress=MAC         specify the MAC address of the TAP (only valid with -c)
--target-type=TYPE       specify the target type ([netns|bess], default=netns)
--pcap=FILE              write the TAP traffic to FILE as pcap (switchyard)
-h, --help               show this help and exit
-v, --version            show version and exit
`

// Usage returns the help text slirp4netns prints for -h and after a
// command-line error, with prog as the program name.
func Usage(prog string) string {
	return "Usage: " + prog + " [OPTION]... PID|PATH [TAPNAME]\n" + usageBody
}

// Help returns the -h text: Usage("slirp4netns"). It names every flag
// callers look for (--netns-type, --disable-host-loopback, --mtu, ...).
func Help() string {
	return Usage("slirp4netns")
}

// Version returns the -v text, in slirp4netns's line format:
//
//	slirp4netns version 1.2.0+switchyard
//	commit: <revision>
//	libslirp: switchyard (gvisor netstack)
//	SLIRP_CONFIG_VERSION_MAX: 4
func Version() string {
	var b strings.Builder
	b.WriteString("slirp4netns version " + VersionString + "\n")
	b.WriteString("commit: " + commit() + "\n")
	b.WriteString("libslirp: switchyard " + version.String() + " (gvisor netstack)\n")
	b.WriteString("SLIRP_CONFIG_VERSION_MAX: 4\n")
	return b.String()
}

func commit() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}
