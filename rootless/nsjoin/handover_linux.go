package nsjoin

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Handover describes a running Agent to the program a process execs next
// (Agent.Handover, then Adopt in the new image): the helper stays the
// process's child across execve(2) and its descriptors stay open, so a
// helper can join the namespaces with its privileges and then exec itself
// into a sandbox that has none. It is plain data (JSON-friendly).
type Handover struct {
	// Target and Info are the agent's.
	Target Target
	Info   TapInfo
	// PID is the helper's process ID.
	PID int
	// Conn, Tap, Pidfd and Stderr are descriptor numbers: the socket to
	// the helper, the TAP, the target's pidfd (-1 without) and the read
	// end of the helper's stderr.
	Conn, Tap, Pidfd, Stderr int
}

// newAgent returns an agent for the helper proc talking on conn, and starts
// keeping the head of its stderr (errPipe).
func newAgent(log *slog.Logger, t Target, proc *os.Process, conn *net.UnixConn, pidfd int, errPipe *os.File) *Agent {
	a := &Agent{
		log:      log,
		target:   t,
		proc:     proc,
		conn:     conn,
		pidfd:    pidfd,
		stderr:   &headBuffer{max: 4096},
		errPipe:  errPipe,
		copied:   make(chan struct{}),
		pending:  make(map[uint64]chan dialResult),
		waitDone: make(chan struct{}),
	}
	go a.copyStderr()
	return a
}

// Handover lets the agent's descriptors survive execve(2) (it clears their
// close-on-exec flags) and describes them for Adopt. Call it right before
// the exec, before Device, with no dial in progress; if the exec fails,
// the agent is still usable here.
func (a *Agent) Handover() (Handover, error) {
	h := Handover{Target: a.target, Info: a.TapInfo(), PID: a.proc.Pid, Pidfd: -1}
	var err error
	if h.Conn, err = KeepOnExec(a.conn); err != nil {
		return h, fmt.Errorf("nsjoin: handover: socket: %w", err)
	}
	if h.Tap, err = KeepOnExec(a.tapFile); err != nil {
		return h, fmt.Errorf("nsjoin: handover: TAP: %w", err)
	}
	if h.Stderr, err = KeepOnExec(a.errPipe); err != nil {
		return h, fmt.Errorf("nsjoin: handover: stderr: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pidfd >= 0 {
		if _, err := unix.FcntlInt(uintptr(a.pidfd), unix.F_SETFD, 0); err != nil {
			return h, fmt.Errorf("nsjoin: handover: pidfd: %w", err)
		}
		h.Pidfd = a.pidfd
	}
	return h, nil
}

// KeepOnExec clears close-on-exec on c's descriptor, so that it survives
// execve(2), and returns its number (without Fd, which would make it
// blocking).
func KeepOnExec(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var ferr error
	if err := rc.Control(func(u uintptr) {
		fd = int(u)
		_, ferr = unix.FcntlInt(u, unix.F_SETFD, 0)
	}); err != nil {
		return -1, err
	}
	return fd, ferr
}

// Adopt takes over the agent a previous image of this process described
// with Handover. The descriptors become close-on-exec again; the TAP is
// available through TapFile and Device as after Join.
func Adopt(h Handover, log *slog.Logger) (*Agent, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if h.PID <= 0 || h.Conn < 0 || h.Tap < 0 || h.Stderr < 0 {
		return nil, errors.New("nsjoin: adopt: incomplete handover")
	}
	for _, fd := range []int{h.Conn, h.Tap, h.Pidfd, h.Stderr} {
		if fd < 0 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, fmt.Errorf("nsjoin: adopt: descriptor %d: %w", fd, err)
		}
		unix.CloseOnExec(fd)
	}
	proc, err := os.FindProcess(h.PID)
	if err != nil {
		return nil, fmt.Errorf("nsjoin: adopt: helper %d: %w", h.PID, err)
	}
	conn, err := fileConn(h.Conn, "nsjoin-socket")
	if err != nil {
		return nil, fmt.Errorf("nsjoin: adopt: socket: %w", err)
	}
	if err := unix.SetNonblock(h.Tap, true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("nsjoin: adopt: TAP: %w", err)
	}
	a := newAgent(log, h.Target, proc, conn, h.Pidfd, os.NewFile(uintptr(h.Stderr), "nsjoin-stderr"))
	a.info = h.Info
	a.tapFile = os.NewFile(uintptr(h.Tap), "/dev/net/tun:"+h.Info.Name)
	go a.waitChild()
	go a.readLoop()
	return a, nil
}
