package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/rootless"
)

// cmdRun runs `switchyard run [-p ...]... -- CMD [ARGS]` and returns CMD's
// exit status.
func cmdRun(args []string, stderr io.Writer) int {
	fs := newFlags("run")
	var ports []string
	cfg := rootless.RunConfig{}
	fs.StringArrayVarP(&ports, "publish", "p", nil, "forward [HOSTIP:]HOSTPORT:PORT[/udp] from the host to the command's namespace (repeatable)")
	fs.IntVar(&cfg.MTU, "mtu", 1500, "MTU of the namespace's interface")
	fs.BoolVar(&cfg.DisableHostLoopback, "disable-host-loopback", false, "do not let 10.0.2.2 reach the host's 127.0.0.1")
	fs.StringVar(&cfg.Pcap, "pcap", "", "capture the namespace's traffic into this pcapng file")
	fs.BoolVarP(&cfg.EnableIPv6, "ipv6", "6", false, "IPv6 too, as slirp4netns -6 (fd00::/64; IPv6 clients of a forward reach the command over IPv6)")
	fs.SetInterspersed(false)
	pos, err := parse(fs, args, 1, -1, "run [-p [HOSTIP:]HOSTPORT:PORT[/udp]]... [--mtu N] [--disable-host-loopback] [--ipv6] [--pcap FILE] -- CMD [ARGS]")
	if err != nil {
		return exitStatus(err, stderr)
	}
	if cfg.MTU < 68 || cfg.MTU > 65521 {
		return exitStatus(usagef("run: --mtu %d out of range [68, 65521]", cfg.MTU), stderr)
	}
	for _, p := range ports {
		f, err := parseForward(p)
		if err != nil {
			return exitStatus(usagef("run: %v", err), stderr)
		}
		cfg.Forwards = append(cfg.Forwards, f)
	}
	cfg.Argv = pos
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	code, err := rootless.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "switchyard: %v\n", err)
		return 1
	}
	return code
}

// parseForward parses [HOSTIP:]HOSTPORT:PORT[/udp], an IPv6 HOSTIP in
// brackets.
func parseForward(s string) (rootless.Forward, error) {
	f := rootless.Forward{Proto: "tcp", HostAddr: netip.IPv4Unspecified()}
	rest := s
	if r, proto, ok := strings.Cut(s, "/"); ok {
		if proto != "tcp" && proto != "udp" {
			return f, fmt.Errorf("port %q: protocol %q: want tcp or udp", s, proto)
		}
		rest, f.Proto = r, proto
	}
	host, bracketed := "", strings.HasPrefix(rest, "[")
	if bracketed {
		var ok bool
		if host, rest, ok = strings.Cut(rest[1:], "]:"); !ok {
			return f, fmt.Errorf("port %q: want [IPV6]:HOSTPORT:PORT", s)
		}
	} else if strings.Count(rest, ":") == 2 {
		host, rest, _ = strings.Cut(rest, ":")
	}
	if host != "" || bracketed {
		a, err := netip.ParseAddr(host)
		if err != nil || bracketed && !a.Is6() || !bracketed && !a.Is4() {
			return f, fmt.Errorf("port %q: bad host address %q (an IPv6 one goes in brackets)", s, host)
		}
		f.HostAddr = a
	}
	hostPort, guestPort, ok := strings.Cut(rest, ":")
	if !ok || strings.Contains(guestPort, ":") {
		return f, fmt.Errorf("port %q: want [HOSTIP:]HOSTPORT:PORT", s)
	}
	var err error
	if f.HostPort, err = portNum(hostPort); err == nil {
		f.GuestPort, err = portNum(guestPort)
	}
	if err != nil {
		return f, fmt.Errorf("port %q: %w", s, err)
	}
	return f, nil
}

func portNum(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}

// runChildMain is the hidden child of `switchyard run`.
func runChildMain(args []string, stderr io.Writer) int {
	err := rootless.RunChild(args)
	fmt.Fprintf(stderr, "switchyard: %v\n", err)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return 127 // as a shell: command not found
	}
	return 126
}
