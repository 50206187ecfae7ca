package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchyard/switchyard/proxy"
	"github.com/switchyard/switchyard/version"
)

// The descriptors dockerd hands to its userland proxy.
const (
	statusFD = 3 // pipe for the start-up result: "0\n", or "1\n<error>"
	listenFD = 4 // with -use-listen-fd: the bound (TCP: listening) socket
)

// dockerProxyFlags is docker-proxy's command line, plus switchyard's
// own tuning flags.
type dockerProxyFlags struct {
	proto                   string
	hostIP, containerIP     netip.Addr
	hostPort, containerPort int
	useListenFD, version    bool
	cfg                     proxy.Config
}

// dockerProxyMain runs `switchyard docker-proxy` (also the binary invoked
// as docker-proxy): a drop-in for dockerd's userland proxy that serves one
// published port, speaking dockerd's protocol on fds 3 and 4. It returns
// the exit status: 0 after SIGINT/SIGTERM, 1 when the proxy cannot start,
// 2 for a bad command line.
func dockerProxyMain(args []string, stdout, stderr io.Writer) int {
	// Look at fds 3 and 4 before anything in this process opens a file:
	// only descriptors inherited from dockerd lack close-on-exec.
	statusOK, listenOK := inheritedFD(statusFD, unix.S_IFIFO), inheritedFD(listenFD, unix.S_IFSOCK)
	if statusOK {
		syscall.CloseOnExec(statusFD)
		// Non-blocking, so that the report's write deadline works.
		syscall.SetNonblock(statusFD, true)
	}
	if listenOK {
		syscall.CloseOnExec(listenFD)
	}
	f, err := parseDockerProxyFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if f.version {
		fmt.Fprintf(stdout, "docker-proxy (switchyard) version %s\n", dockerProxyVersion())
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("cmd", "docker-proxy")
	if !statusOK {
		log.Error("fd 3 (the start-up status pipe from dockerd) is not an inherited pipe; exiting")
		return 1
	}
	status := os.NewFile(statusFD, "signal-parent")
	defer status.Close()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	p := proxy.New(f.cfg, log)
	defer p.Close()
	m, err := f.mapping(listenOK)
	if err == nil {
		_, err = p.Add(m)
	}
	if err != nil {
		log.Error("cannot start", "err", err)
		reportStart(status, "1\n"+err.Error(), log)
		return 1
	}
	reportStart(status, "0\n", log)
	status.Close()
	mi := p.List()[0]
	log.Info("started", "proto", f.proto, "listen", mi.Listen.String(), "backend", mi.Backend.String(), "pid", os.Getpid())

	sig := <-sigs
	s := p.Stats()
	log.Info("stopping", "signal", sig.String(), "accepted", s.Accepted, "dial_failures", s.DialFailures,
		"accept_errors", s.AcceptErrors, "bytes_in", s.BytesIn, "bytes_out", s.BytesOut, "udp_refused", s.Refused)
	return 0
}

// parseDockerProxyFlags parses docker-proxy's Go-style flags; on an error
// the flag package has already printed it with the usage to stderr.
func parseDockerProxyFlags(args []string, stderr io.Writer) (dockerProxyFlags, error) {
	var f dockerProxyFlags
	fs := flag.NewFlagSet("docker-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.proto, "proto", "tcp", "proxy protocol")
	fs.TextVar(&f.hostIP, "host-ip", netip.IPv4Unspecified(), "host ip")
	fs.IntVar(&f.hostPort, "host-port", -1, "host port")
	fs.TextVar(&f.containerIP, "container-ip", netip.IPv4Unspecified(), "container ip")
	fs.IntVar(&f.containerPort, "container-port", -1, "container port")
	fs.BoolVar(&f.useListenFD, "use-listen-fd", false, "use a supplied listen fd")
	fs.BoolVar(&f.version, "v", false, "print version information and quit")
	fs.BoolVar(&f.version, "version", false, "print version information and quit")
	fs.DurationVar(&f.cfg.DialTimeout, "dial-timeout", proxy.DefaultDialTimeout, "switchyard: backend dial timeout (negative: none)")
	fs.DurationVar(&f.cfg.UDPIdleTimeout, "udp-idle-timeout", proxy.DefaultUDPIdleTimeout, "switchyard: UDP flow idle timeout")
	fs.IntVar(&f.cfg.UDPMaxFlows, "udp-max-flows", proxy.DefaultUDPMaxFlows, "switchyard: UDP flow cap")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	for _, c := range []struct {
		name string
		ip   netip.Addr
	}{{"host-ip", f.hostIP}, {"container-ip", f.containerIP}} {
		if !c.ip.IsValid() { // -host-ip ""
			fmt.Fprintf(stderr, "invalid value \"\" for flag -%s: empty address\n", c.name)
			fs.Usage()
			return f, fmt.Errorf("empty -%s", c.name)
		}
	}
	return f, nil
}

// mapping turns the flags into the mapping to serve, taking over fd 4
// with -use-listen-fd (listenOK: fd 4 was inherited).
func (f dockerProxyFlags) mapping(listenOK bool) (proxy.Mapping, error) {
	m := proxy.Mapping{Proto: proxy.Proto(f.proto)}
	if m.Proto != proxy.TCP && m.Proto != proxy.UDP {
		return m, fmt.Errorf("unsupported protocol %s", f.proto)
	}
	if f.containerPort < 1 || f.containerPort > 65535 {
		return m, fmt.Errorf("invalid container port %d", f.containerPort)
	}
	m.Backend = netip.AddrPortFrom(f.containerIP.Unmap(), uint16(f.containerPort))
	if !f.useListenFD {
		// Older dockerd: bind the host address ourselves.
		if f.hostPort < 0 || f.hostPort > 65535 {
			return m, fmt.Errorf("failed to listen on %s: invalid port",
				net.JoinHostPort(f.hostIP.Unmap().String(), strconv.Itoa(f.hostPort)))
		}
		m.Listen = netip.AddrPortFrom(f.hostIP.Unmap(), uint16(f.hostPort))
		return m, nil
	}
	if !listenOK {
		return m, errors.New("-use-listen-fd: fd 4 is not an inherited socket")
	}
	file := os.NewFile(listenFD, "listen-sock")
	defer file.Close() // the net package works on a duplicate
	var err error
	if m.Proto == proxy.TCP {
		m.Listener, err = net.FileListener(file)
	} else {
		m.PacketConn, err = net.FilePacketConn(file)
	}
	if err != nil {
		return m, fmt.Errorf("unexpected socket type for listener fd: %w", err)
	}
	return m, nil
}

// inheritedFD reports whether fd is open without close-on-exec, i.e. was
// inherited (every descriptor the Go runtime opens is close-on-exec), and
// is of the file type dockerd passes there (S_IFIFO for the status pipe,
// S_IFSOCK for the listener): a stray descriptor a wrapper leaked, such as
// flock(1)'s lock file, is not mistaken for dockerd's.
func inheritedFD(fd int, fileType uint32) bool {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC != 0 {
		return false
	}
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == fileType
}

// reportStart writes the start-up result to dockerd in one write (dockerd reads
// two bytes first, then the rest on failure).
func reportStart(status *os.File, msg string, log *slog.Logger) {
	status.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := status.Write([]byte(msg)); err != nil {
		log.Warn("cannot report to dockerd on fd 3", "err", err)
	}
}

// dockerProxyVersion is the version every switchyard command reports.
func dockerProxyVersion() string { return version.String() }
