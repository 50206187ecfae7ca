package dns

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// ParseResolvConf returns the nameservers of a resolv.conf(5) file, in
// order and without duplicates, as "ip:53" ("[ip]:53" for IPv6), ready for
// Config.Upstreams. Loopback nameservers (e.g. systemd-resolved's
// 127.0.0.53) are kept: the daemon runs in the host's network namespace,
// where they are reachable. Lines that are not a valid "nameserver IP" are
// ignored, as the C library does.
func ParseResolvConf(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		ns := netip.AddrPortFrom(a.Unmap(), 53).String()
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading resolv.conf: %w", err)
	}
	return out, nil
}

// LoadResolvConf reads the nameservers of the resolv.conf file at path
// (usually /etc/resolv.conf); see ParseResolvConf.
func LoadResolvConf(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading nameservers: %w", err)
	}
	defer f.Close()
	ns, err := ParseResolvConf(f)
	if err != nil {
		return nil, fmt.Errorf("loading nameservers from %s: %w", path, err)
	}
	return ns, nil
}
