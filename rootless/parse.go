package rootless

import (
	"net/netip"
	"strings"
)

// slirp4netns's option table, in its order (the order of the
// "possibilities" of an ambiguous abbreviation), plus switchyard's --pcap.
var longOpts = []longOpt{
	{"configure", noArg, "c"},
	{"exit-fd", requiredArg, "e"},
	{"ready-fd", requiredArg, "r"},
	{"mtu", requiredArg, "m"},
	{"cidr", requiredArg, "cidr"},
	{"disable-host-loopback", noArg, "disable-host-loopback"},
	{"no-host-loopback", noArg, "no-host-loopback"},
	{"netns-type", requiredArg, "netns-type"},
	{"userns-path", requiredArg, "userns-path"},
	{"api-socket", requiredArg, "a"},
	{"enable-ipv6", noArg, "6"},
	{"enable-sandbox", noArg, "enable-sandbox"},
	{"create-sandbox", noArg, "create-sandbox"},
	{"enable-seccomp", noArg, "enable-seccomp"},
	{"help", noArg, "h"},
	{"version", noArg, "v"},
	{"outbound-addr", requiredArg, "outbound-addr"},
	{"outbound-addr6", requiredArg, "outbound-addr6"},
	{"disable-dns", noArg, "disable-dns"},
	{"macaddress", requiredArg, "macaddress"},
	{"target-type", requiredArg, "target-type"},
	{"pcap", requiredArg, "pcap"},
}

const shortOpts = "ce:r:m:a:6hv"

// Parser parses slirp4netns command lines. The zero value behaves like
// slirp4netns invoked as "slirp4netns" on this host.
type Parser struct {
	// Prog is argv[0] as slirp4netns would print it in messages and in
	// the usage text; "slirp4netns" when empty.
	Prog string
	// Access checks that a path exists (access(2) with F_OK), for
	// --userns-path and --netns-type=path targets. nil means the real
	// access(2).
	Access func(path string) error
	// InterfaceAddr returns the first address of the given family of a
	// host interface, to resolve --outbound-addr[6] given as an interface
	// name. nil means the host's interfaces.
	InterfaceAddr func(name string, ipv6 bool) (netip.Addr, error)
}

// ParseArgs parses args (without the program name) as slirp4netns 1.2.0
// does: GNU getopt_long option handling (abbreviations, permutation,
// "--"), the same checks in the same order, the same messages. On -h/-v
// and on every error it returns an *ExitError saying what to print and
// the exit status; the command prints Options.Warnings otherwise.
//
// Like the real binary (and despite "[TAPNAME]" in its usage line), both
// positional arguments are required. Two checks that slirp4netns makes
// only when starting are made here: interface names given to
// --outbound-addr[6] are resolved, and an API socket path of 108 bytes or
// more is rejected ("the specified API socket path is too long (>= 108)").
func ParseArgs(args []string) (Options, error) {
	return Parser{}.Parse(args)
}

// parseState carries the text printed so far while parsing.
type parseState struct {
	prog   string
	stdout strings.Builder
	opts   *Options
}

func (s *parseState) warn(line string) {
	s.opts.Warnings = append(s.opts.Warnings, line)
	s.stdout.WriteString(line + "\n")
}

// fail builds the ExitError for a rejected command line: stderr text,
// then the usage on stdout when slirp4netns prints it.
func (s *parseState) fail(cause error, stderr string, usage bool) error {
	if usage {
		s.stdout.WriteString(Usage(s.prog))
	}
	return &ExitError{Code: 1, Stdout: s.stdout.String(), Stderr: stderr, Err: cause}
}

// Parse parses args (without the program name); see ParseArgs.
func (p Parser) Parse(args []string) (Options, error) {
	o := DefaultOptions()
	st := &parseState{prog: p.Prog, opts: &o}
	if st.prog == "" {
		st.prog = "slirp4netns"
	}
	cargs := make([]string, len(args))
	for i, a := range args {
		cargs[i] = cstr(a)
	}
	g := &getopt{prog: st.prog, short: shortOpts, long: longOpts, args: cargs}
	var cidr, netnsType, mac, targetType, out4, out6 *string
	for {
		ev, done, msg := g.next()
		if msg != "" {
			return o, st.fail(ErrUsage, msg, true)
		}
		if done {
			break
		}
		arg := ev.arg
		switch ev.key {
		case "c":
			o.Configure = true
		case "e", "r":
			v, ok := strtol10(arg)
			if fd := int32(v); ok && fd >= 0 {
				if ev.key == "e" {
					o.ExitFD = int(fd)
				} else {
					o.ReadyFD = int(fd)
				}
				break
			}
			name := map[string]string{"e": "exit-fd", "r": "ready-fd"}[ev.key]
			return o, st.fail(ErrUsage, name+" must be a non-negative integer\n", true)
		case "m":
			v, ok := strtol10(arg)
			if m := uint32(v); !ok || m == 0 || m > MaxMTU {
				return o, st.fail(ErrUsage, "MTU must be a positive integer (< 65522)\n", true)
			}
			o.MTU = int(uint32(v))
		case "cidr":
			cidr = &arg
		case "no-host-loopback":
			st.warn("WARNING: --no-host-loopback is deprecated and will be removed in future releases, please use --disable-host-loopback instead.")
			o.DisableHostLoopback = true
		case "disable-host-loopback":
			o.DisableHostLoopback = true
		case "netns-type":
			netnsType = &arg
		case "userns-path":
			if p.access(arg) != nil {
				return o, st.fail(ErrUsage, "userns path doesn't exist: "+arg+"\n", true)
			}
			o.UsernsPath = arg
		case "a":
			o.APISocket = arg
		case "6":
			o.EnableIPv6 = true
			st.warn("WARNING: Support for IPv6 is experimental")
		case "create-sandbox":
			st.warn("WARNING: --create-sandbox is deprecated and will be removed in future releases, please use --enable-sandbox instead.")
			o.EnableSandbox = true
		case "enable-sandbox":
			o.EnableSandbox = true
		case "enable-seccomp":
			st.warn("WARNING: Support for seccomp is experimental")
			o.EnableSeccomp = true
		case "h":
			st.stdout.WriteString(Usage(st.prog))
			return o, &ExitError{Code: 0, Stdout: st.stdout.String(), Err: ErrHelp}
		case "v":
			st.stdout.WriteString(Version())
			return o, &ExitError{Code: 0, Stdout: st.stdout.String(), Err: ErrVersion}
		case "outbound-addr":
			st.warn("WARNING: Support for --outbound-addr is experimental")
			out4 = &arg
		case "outbound-addr6":
			st.warn("WARNING: Support for --outbound-addr6 is experimental")
			out6 = &arg
		case "disable-dns":
			o.DisableDNS = true
		case "macaddress":
			mac = &arg
		case "target-type":
			targetType = &arg
		case "pcap":
			o.Pcap = arg
		}
	}
	if err := p.positional(st, g.positional, mac, targetType, netnsType); err != nil {
		return o, err
	}
	return o, p.config(st, cidr, out4, out6, mac)
}
