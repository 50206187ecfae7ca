package nsjoin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StartTimeout bounds Join when ctx has no earlier deadline.
const StartTimeout = 30 * time.Second

// closeTimeout is how long Close waits for the child before killing it.
const closeTimeout = 5 * time.Second

// Join starts the helper inside the namespaces of t, has it open the TAP
// described by tc, and returns once the TAP descriptor has arrived (or the
// helper failed: its error text comes back as a *RemoteError, e.g.
// "TUNSETIFF: operation not permitted"). The helper keeps running as the
// returned Agent until Close. ctx bounds only the start; log may be nil.
//
// The user namespace is joined (with nsenter --preserve-credentials) unless
// it is the caller's own, or the caller's effective UID is not root in it
// while the caller holds CAP_SYS_ADMIN and CAP_NET_ADMIN: such a privileged
// caller joins only the network namespace, which it administers from its
// ancestor user namespace (preserving an unmapped UID would leave the
// helper without capabilities).
func Join(ctx context.Context, t Target, tc TapConfig, log *slog.Logger) (*Agent, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("nsjoin: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nsjoin %s: %w", t, err)
	}
	tc, err := tc.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("nsjoin %s: %w", t, err)
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return nil, fmt.Errorf("nsjoin %s: nsenter (util-linux) is needed: %w", t, err)
	}
	ns, err := openTarget(t)
	if err != nil {
		return nil, fmt.Errorf("nsjoin %s: %w", t, err)
	}
	a, err := start(ctx, t, tc, ns, nsenter, log)
	ns.close()
	if err != nil {
		if ns.pidfd >= 0 {
			unix.Close(ns.pidfd)
		}
		return nil, fmt.Errorf("nsjoin %s: %w", t, err)
	}
	return a, nil
}

// start runs nsenter with the helper and waits for the TAP.
func start(ctx context.Context, t Target, tc TapConfig, ns *target, nsenter string, log *slog.Logger) (*Agent, error) {
	exeFD, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("own executable: %w", err)
	}
	exe := os.NewFile(uintptr(exeFD), "/proc/self/exe")
	defer exe.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	childSock := os.NewFile(uintptr(pair[1]), "nsjoin-child-socket")
	defer childSock.Close()
	conn, err := fileConn(pair[0], "nsjoin-socket")
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}

	extra := []*os.File{childSock, exe, ns.net}
	args := []string{"--net=/proc/self/fd/" + strconv.Itoa(childNetFD)}
	if ns.user != nil {
		extra = append(extra, ns.user)
		args = append(args, "--user=/proc/self/fd/"+strconv.Itoa(childUserFD), "--preserve-credentials")
	}
	args = append(args, "--", "/proc/self/fd/"+strconv.Itoa(childExeFD), ChildCommand)
	args = append(args, childArgs(tc, len(extra)-1)...)
	// The helper's stderr is a pipe of ours (not exec's), so that Handover
	// can pass it on.
	errR, errW, err := os.Pipe()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd := exec.Command(nsenter, args...)
	cmd.ExtraFiles = extra
	cmd.Stderr = errW
	// Keep terminal signals (^C) for the parent: the helper exits when the
	// parent closes the socket.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log.Debug("nsjoin: starting helper", "target", t.String(), "join_userns", ns.user != nil, "argv", cmd.Args)
	err = cmd.Start()
	errW.Close()
	if err != nil {
		errR.Close()
		conn.Close()
		return nil, fmt.Errorf("starting nsenter: %w", err)
	}
	childSock.Close() // only the child holds its end now: EOF when it exits

	a := newAgent(log, t, cmd.Process, conn, ns.pidfd, errR)
	go a.waitChild()
	if err := a.receiveTap(ctx, tc); err != nil {
		a.pidfd = -1 // Join closes it
		a.Close()
		return nil, err
	}
	go a.readLoop()
	log.Debug("nsjoin: TAP ready", "target", t.String(), "helper_pid", cmd.Process.Pid, "tap", a.info.Name,
		"mtu", a.info.MTU, "vnet_hdr", a.info.VnetHdr, "offload", a.info.Offload)
	return a, nil
}

// receiveTap waits for the helper's first message.
func (a *Agent) receiveTap(ctx context.Context, tc TapConfig) error {
	deadline := time.Now().Add(StartTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	a.conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { a.conn.SetReadDeadline(time.Now()) })
	defer stop()
	var r reply
	fd, err := recvMsg(a.conn, make([]byte, maxMsg), make([]byte, oobSize), &r)
	a.conn.SetReadDeadline(time.Time{})
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("waiting for the helper: %w", ctx.Err())
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("helper sent no TAP within %v: %w", StartTimeout, err)
	case errors.Is(err, errEOF):
		// The helper (or nsenter before it) died: its status and stderr
		// tell why.
		select {
		case <-a.waitDone:
		case <-time.After(closeTimeout):
		}
		return fmt.Errorf("helper exited before sending the TAP: %w", a.exitErr())
	case err != nil:
		return fmt.Errorf("reading from the helper: %w", err)
	}
	if rerr := r.remoteErr(); rerr != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return fmt.Errorf("helper: %w", rerr)
	}
	if fd < 0 || r.Tap == nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return errors.New("helper sent no TAP descriptor")
	}
	info := r.Tap
	a.tapFile = os.NewFile(uintptr(fd), "/dev/net/tun:"+info.Name)
	a.info = TapInfo{Name: info.Name, Index: info.Index, MTU: info.MTU, VnetHdr: info.VnetHdr, Offload: info.Offload}
	if info.MAC != "" {
		a.info.MAC, _ = net.ParseMAC(info.MAC)
	}
	if a.info.MTU == 0 {
		a.info.MTU = tc.MTU
	}
	if tc.VnetHdr && !info.VnetHdr {
		a.log.Warn("nsjoin: TAP opened without virtio-net header", "tap", info.Name, "reason", info.Fallback)
	}
	return nil
}
