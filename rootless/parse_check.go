package rootless

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

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
