package rootless

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"
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
// does. On -h/-v and on every error it returns an *ExitError saying what
// to print and the exit status.
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

// positional does slirp4netns's checks after the option loop: option
// conflicts, the number of arguments, the PID or path.
func (p Parser) positional(st *parseState, pos []string, mac, targetType, netnsType *string) error {
	o := st.opts
	if mac != nil && !o.Configure {
		return st.fail(ErrUsage, "--macaddr cannot be specified when --configure or -c is not specified\n", true)
	}
	if targetType != nil && *targetType != "netns" && *targetType != "bess" {
		return st.fail(ErrUsage, "--target-type must be either \"netns\" or \"bess\"\n", true)
	}
	if targetType != nil && *targetType == "bess" {
		switch {
		case len(pos) < 1:
			return st.fail(ErrUsage, "", true)
		case len(pos) > 1:
			return st.fail(ErrUsage, "too many arguments\n", true)
		case o.Configure:
			return st.fail(ErrUsage, "--configure conflicts with --target-type=bess\n", true)
		case netnsType != nil:
			return st.fail(ErrUsage, "--netns-type conflicts with --target-type=bess\n", true)
		case o.UsernsPath != "":
			return st.fail(ErrUsage, "--userns-path conflicts with --target-type=bess\n", true)
		}
		return st.fail(ErrUnsupported, "--target-type=bess is not supported by switchyard\n", false)
	}
	if len(pos) < 2 {
		return st.fail(ErrUsage, "", true)
	}
	if len(pos) > 2 {
		st.warn("WARNING: too many arguments")
	}
	o.Target, o.TapName = pos[0], pos[1]
	if netnsType == nil || *netnsType == "pid" {
		v, ok := strtol10(pos[0])
		if pid := int32(v); !ok || pid <= 0 {
			return st.fail(ErrUsage, "PID must be a positive integer\n", true)
		}
		o.NetnsType, o.PID = "pid", int(int32(v))
		return nil
	}
	o.NetnsType = "path"
	if err := p.access(pos[0]); err != nil {
		return st.fail(ErrUsage, "existing path expected when --netns-type=path: "+strerror(err)+"\n", true)
	}
	return nil
}

// config does the checks slirp4netns makes when it turns the options into
// its configuration (no usage text on failure), then the API socket
// length check it makes when it starts.
func (p Parser) config(st *parseState, cidr, out4, out6, mac *string) error {
	o := st.opts
	if cidr != nil {
		pfx, msg := parseCIDR(*cidr)
		if msg != "" {
			return st.fail(ErrUsage, msg, false)
		}
		o.CIDR = pfx
	}
	if out4 != nil {
		a, ok := inetPton4(*out4)
		if !ok {
			var err error
			if a, err = p.ifaceAddr(*out4, false); err != nil {
				return st.fail(ErrUsage, "outbound-addr has to be valid ipv4 address or interface name.", false)
			}
		}
		o.OutboundAddr = a
	}
	if out6 != nil {
		a, ok := inetPton6(*out6)
		if !ok {
			// slirp4netns 1.2.0 looks up the --outbound-addr (sic) name.
			var err error = errNoInterface
			if out4 != nil {
				a, err = p.ifaceAddr(*out4, true)
			}
			if err != nil {
				return st.fail(ErrUsage, "outbound-addr has to be valid ipv4 address or iterface name.", false)
			}
		}
		o.OutboundAddr6 = a
	}
	if mac != nil {
		b, n, msg := parseMAC(*mac)
		if msg != "" {
			return st.fail(ErrUsage, msg+"macaddress has to be a valid MAC address (hex string, 6 bytes, each byte separated by a ':').", false)
		}
		if n > 0 {
			o.MACAddress = net.HardwareAddr(b[:])
		}
	}
	if len(o.APISocket) >= MaxAPISocketPath {
		return st.fail(ErrUsage, "the specified API socket path is too long (>= 108)\n", false)
	}
	return nil
}

var errNoInterface = errors.New("no such interface address")

func (p Parser) access(path string) error {
	if p.Access != nil {
		return p.Access(path)
	}
	if err := unix.Access(path, unix.F_OK); err != nil {
		return fmt.Errorf("access %s: %w", path, err)
	}
	return nil
}

func (p Parser) ifaceAddr(name string, ipv6 bool) (netip.Addr, error) {
	if p.InterfaceAddr != nil {
		return p.InterfaceAddr(name, ipv6)
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s addresses: %w", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			ip, _ := netip.AddrFromSlice(ipn.IP)
			if ip = ip.Unmap(); ip.IsValid() && ip.Is6() == ipv6 {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s: %w", name, errNoInterface)
}

// strerror renders err like glibc's strerror when it wraps an errno:
// Go's errno texts are glibc's, lower-cased.
func strerror(err error) string {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
