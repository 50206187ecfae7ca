package nsjoin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Descriptors the child inherits (exec.Cmd.ExtraFiles, in this order).
const (
	childSockFD = 3 // the socket pair's child end
	childExeFD  = 4 // O_PATH descriptor of the executable (nsenter ran it)
	childNetFD  = 5 // the target network namespace
	childUserFD = 6 // the target user namespace, when joined
)

// childOpts is the child's command line.
type childOpts struct {
	tc       TapConfig
	closeFDs []int
}

// childArgs renders tc (with defaults applied) as the child's command line;
// nfds is the number of inherited descriptors after the socket.
func childArgs(tc TapConfig, nfds int) []string {
	args := []string{"-name", tc.Name, "-mtu", strconv.Itoa(tc.MTU)}
	if tc.VnetHdr {
		args = append(args, "-vnet")
	}
	if tc.Configure {
		args = append(args, "-configure", "-addr", tc.Addr.String(), "-gw", tc.Gateway.String())
		if tc.MAC != nil {
			args = append(args, "-mac", tc.MAC.String())
		}
	}
	var fds []string
	for fd := childSockFD + 1; fd <= childSockFD+nfds; fd++ {
		fds = append(fds, strconv.Itoa(fd))
	}
	return append(args, "-close", strings.Join(fds, ","))
}

// parseChildArgs is the inverse of childArgs.
func parseChildArgs(args []string) (childOpts, error) {
	var o childOpts
	fs := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.tc.Name, "name", DefaultTapName, "")
	fs.IntVar(&o.tc.MTU, "mtu", DefaultMTU, "")
	fs.BoolVar(&o.tc.VnetHdr, "vnet", false, "")
	fs.BoolVar(&o.tc.Configure, "configure", false, "")
	addr := fs.String("addr", "", "")
	gw := fs.String("gw", "", "")
	mac := fs.String("mac", "", "")
	closeFDs := fs.String("close", "", "")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if *addr != "" {
		if o.tc.Addr, err = netip.ParsePrefix(*addr); err != nil {
			return o, err
		}
	}
	if *gw != "" {
		if o.tc.Gateway, err = netip.ParseAddr(*gw); err != nil {
			return o, err
		}
	}
	if *mac != "" {
		if o.tc.MAC, err = net.ParseMAC(*mac); err != nil {
			return o, err
		}
	}
	if *closeFDs != "" {
		for _, s := range strings.Split(*closeFDs, ",") {
			fd, err := strconv.Atoi(s)
			if err != nil || fd <= childSockFD {
				return o, fmt.Errorf("bad -close descriptor %q", s)
			}
			o.closeFDs = append(o.closeFDs, fd)
		}
	}
	o.tc, err = o.tc.withDefaults()
	return o, err
}

// ChildMain is the body of the hidden subcommand ChildCommand (args are
// the arguments after it). It runs inside the target namespaces, where
// nsenter started it: it opens the TAP, sends it to the parent over the
// inherited socket, then serves dial requests until the parent closes the
// socket. It returns the process exit status. It is meant to be called
// only by a process that Join started.
func ChildMain(args []string) int {
	o, err := parseChildArgs(args)
	// Whatever happens, do not keep the namespaces or the executable open.
	for _, fd := range o.closeFDs {
		unix.Close(fd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", ChildCommand, err)
		return 2
	}
	if _, err := unix.FcntlInt(childSockFD, unix.F_GETFD, 0); err != nil {
		fmt.Fprintf(os.Stderr, "%s: no socket on descriptor %d (run only by nsjoin.Join)\n", ChildCommand, childSockFD)
		return 2
	}
	unix.CloseOnExec(childSockFD)
	conn, err := fileConn(childSockFD, "nsjoin-socket")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: socket: %v (run only by nsjoin.Join)\n", ChildCommand, err)
		return 2
	}
	fd, info, err := openTap(o.tc)
	if err != nil {
		if serr := sendMsg(conn, errReply(0, err), -1); serr != nil {
			fmt.Fprintf(os.Stderr, "%s: %v (and reporting it: %v)\n", ChildCommand, err, serr)
		}
		return 1
	}
	err = sendMsg(conn, reply{Tap: &info}, fd)
	unix.Close(fd) // the parent's copy keeps the interface alive
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: sending the TAP: %v\n", ChildCommand, err)
		return 1
	}
	s := server{conn: conn, tap: info.Name, cancels: make(map[uint64]context.CancelFunc)}
	defer s.src.shutdown()
	if err := s.serve(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", ChildCommand, err)
		return 1
	}
	return 0
}

// server answers the parent's requests inside the namespaces.
type server struct {
	conn    *net.UnixConn
	tap     string // the TAP's name
	mu      sync.Mutex
	cancels map[uint64]context.CancelFunc // dials in progress
	src     srcKeeper                     // routing for dials that keep the client's address
}

// serve reads requests until the parent closes its end.
func (s *server) serve() error {
	buf, oob := make([]byte, maxMsg), make([]byte, oobSize)
	for {
		var req request
		fd, err := recvMsg(s.conn, buf, oob, &req)
		if fd >= 0 {
			unix.Close(fd) // requests carry no descriptors
		}
		var bad *badMsgError
		switch {
		case errors.As(err, &bad):
			// Say so, keep serving.
			_ = sendMsg(s.conn, errReply(req.ID, fmt.Errorf("bad request: %w", err)), -1)
			continue
		case errors.Is(err, errEOF):
			return nil // the parent closed its end: done
		case err != nil:
			return fmt.Errorf("reading requests: %w", err)
		}
		switch req.Op {
		case "dial":
			ctx, cancel := context.WithCancel(context.Background())
			if req.TimeoutMS > 0 {
				ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
			}
			s.mu.Lock()
			s.cancels[req.ID] = cancel
			s.mu.Unlock()
			go s.dial(ctx, req)
		case "addrs":
			go s.addrs(req.ID)
		case "cancel":
			s.mu.Lock()
			if cancel := s.cancels[req.ID]; cancel != nil {
				cancel()
			}
			s.mu.Unlock()
		default:
			_ = sendMsg(s.conn, errReply(req.ID, fmt.Errorf("bad request: unknown op %q", req.Op)), -1)
		}
	}
}

// dial connects inside the namespace and sends the socket back.
func (s *server) dial(ctx context.Context, req request) {
	defer func() {
		s.mu.Lock()
		if cancel := s.cancels[req.ID]; cancel != nil {
			cancel()
			delete(s.cancels, req.ID)
		}
		s.mu.Unlock()
	}()
	c, lost, err := s.dialInside(ctx, req)
	if err != nil {
		_ = sendMsg(s.conn, errReply(req.ID, err), -1)
		return
	}
	defer c.Close()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) { err = sendMsg(s.conn, reply{ID: req.ID, SrcLost: lost}, int(fd)) })
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		// The parent is gone or the socket broke; nothing more to say.
		fmt.Fprintf(os.Stderr, "%s: sending connection %d: %v\n", ChildCommand, req.ID, err)
	}
}

// dialInside dials req.Network ("tcp" or "udp") req.Addr (a literal
// ip:port), from req.Src when it is set and can be kept; lost says why a
// source asked for was not kept.
func (s *server) dialInside(ctx context.Context, req request) (c net.Conn, lost string, err error) {
	if req.Network != "tcp" && req.Network != "udp" {
		return nil, "", fmt.Errorf("bad request: network %q", req.Network)
	}
	dst, err := netip.ParseAddrPort(req.Addr)
	if err != nil {
		return nil, "", fmt.Errorf("bad request: %w", err)
	}
	if req.Src != "" {
		src, err := netip.ParseAddr(req.Src)
		if err != nil {
			return nil, "", fmt.Errorf("bad request: src: %w", err)
		}
		if lost = keepable(req.Network, src, dst.Addr()); lost == "" {
			lost = localTarget(dst.Addr())
		}
		if lost == "" {
			if err := s.src.ready(req.Network, src); err != nil {
				lost = err.Error()
			} else {
				c, err := dialFrom(ctx, req.Network, src, req.Addr)
				if !errors.Is(err, errTransparent) {
					return c, "", err
				}
				lost = err.Error() // dial plainly below
			}
		}
	}
	var d net.Dialer
	c, err = d.DialContext(ctx, req.Network, req.Addr)
	return c, lost, err
}
