package nsjoin

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/tap"
	"golang.org/x/sys/unix"
)

// Agent is the helper process running inside the target namespaces. Its
// methods are safe for concurrent use.
type Agent struct {
	log     *slog.Logger
	target  Target
	proc    *os.Process // the helper, our child
	conn    *net.UnixConn
	tapFile *os.File
	info    TapInfo
	stderr  *headBuffer
	errPipe *os.File      // read end of the helper's stderr
	copied  chan struct{} // closed when errPipe reached EOF

	mu       sync.Mutex
	pidfd    int // PID mode: the target process; -1 otherwise or once closed
	nextID   uint64
	pending  map[uint64]chan dialResult // dials waiting for their reply
	dead     error                      // why the socket stopped, once it did
	isClosed bool                       // Close has run

	waitDone chan struct{} // closed when the helper has exited
	waitErr  error

	closeOnce sync.Once
	closeErr  error
	srcWarn   sync.Once // the first dial that could not keep its source
}

// TapFile returns the TAP's descriptor as a non-blocking, pollable file
// (never call its Fd method, which makes it blocking): hand it to
// tap.FromFile, or use Device. The caller owns it: Close leaves it open,
// and the interface lives as long as the file (unless it is persistent).
// Every call returns the same file.
func (a *Agent) TapFile() *os.File { return a.tapFile }

// TapInfo describes the TAP as the helper found it after setup, including
// whether frames carry a virtio-net header and whether offloads are on.
func (a *Agent) TapInfo() TapInfo {
	info := a.info
	info.MAC = append(net.HardwareAddr(nil), info.MAC...)
	return info
}

// Device wraps TapFile as a switch port with tap.FromFile. The Device owns
// the file from then on; call Device at most once.
func (a *Agent) Device() (*tap.Device, error) {
	netns := a.target.NetnsPath
	if a.target.PID > 0 {
		netns = fmt.Sprintf("/proc/%d/ns/net", a.target.PID)
	}
	return tap.FromFile(a.tapFile, tap.FileConfig{
		Name: a.info.Name, MTU: a.info.MTU, MAC: a.info.MAC, Index: a.info.Index, Netns: netns,
		VNetHdr: a.info.VnetHdr, Offload: a.info.Offload,
	})
}

// PID returns the helper's process ID.
func (a *Agent) PID() int { return a.proc.Pid }

// TargetAlive reports whether the target process still runs (PID mode; a
// zombie counts as gone), for "exit when the target is gone". In path mode
// a namespace has no process to watch and it returns ErrNoTargetProcess.
func (a *Agent) TargetAlive() (bool, error) {
	if a.target.PID <= 0 {
		return false, ErrNoTargetProcess
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.isClosed {
		return false, fmt.Errorf("nsjoin: TargetAlive after Close: %w", ErrClosed)
	}
	return pidAlive(a.pidfd, a.target.PID), nil
}

// readLoop hands the helper's replies to the dials waiting for them until
// the socket closes, then fails the dials still waiting.
func (a *Agent) readLoop() {
	buf, oob := make([]byte, maxMsg), make([]byte, oobSize)
	var err error
	for {
		var r reply
		var fd int
		fd, err = recvMsg(a.conn, buf, oob, &r)
		var bad *badMsgError
		if errors.As(err, &bad) {
			a.log.Warn("nsjoin: bad message from helper", "err", err)
			continue
		}
		if err != nil {
			break
		}
		a.mu.Lock()
		ch := a.pending[r.ID]
		delete(a.pending, r.ID)
		a.mu.Unlock()
		res := dialResult{fd: fd, err: r.remoteErr(), lost: r.SrcLost, addrs: r.Addrs}
		if res.err == nil && fd < 0 && r.Addrs == nil {
			res.err = errors.New("helper sent no descriptor")
		}
		if res.err != nil && fd >= 0 {
			unix.Close(fd)
			res.fd = -1
		}
		if ch == nil {
			if res.fd >= 0 {
				unix.Close(res.fd) // a cancelled dial's late connection
			}
			continue
		}
		ch <- res
	}
	a.mu.Lock()
	if errors.Is(err, net.ErrClosed) {
		a.dead = ErrClosed
	} else {
		a.dead = fmt.Errorf("helper gone: %w", ErrClosed)
	}
	for id, ch := range a.pending {
		ch <- dialResult{fd: -1, err: a.dead}
		delete(a.pending, id)
	}
	a.mu.Unlock()
}

// copyStderr keeps the head of the helper's stderr until it closes.
func (a *Agent) copyStderr() {
	io.Copy(a.stderr, a.errPipe)
	close(a.copied)
}

// waitChild reaps the helper (and waits for its stderr, briefly: a
// grandchild could hold it open).
func (a *Agent) waitChild() {
	st, err := a.proc.Wait()
	switch {
	case err != nil:
		a.waitErr = err
	case !st.Success():
		a.waitErr = errors.New(st.String())
	}
	select {
	case <-a.copied:
	case <-time.After(closeTimeout):
	}
	a.errPipe.Close()
	close(a.waitDone)
}

// exitErr describes how the helper exited, with what it wrote to stderr;
// call it only after waitDone is closed (otherwise it says so).
func (a *Agent) exitErr() error {
	select {
	case <-a.waitDone:
	default:
		return fmt.Errorf("helper pid %d still running", a.proc.Pid)
	}
	if a.waitErr == nil {
		return nil
	}
	if msg := strings.TrimSpace(a.stderr.String()); msg != "" {
		return fmt.Errorf("%w: %s", a.waitErr, strings.ReplaceAll(msg, "\n", "; "))
	}
	return a.waitErr
}

// Close closes the socket, which makes the helper exit, waits for it
// (killing it if it does not exit within a few seconds) and returns how it
// exited. Dials in progress fail. The TAP file is not closed (see
// TapFile). Close is idempotent.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		a.conn.Close()
		select {
		case <-a.waitDone:
		case <-time.After(closeTimeout):
			a.proc.Kill()
			<-a.waitDone
		}
		a.mu.Lock()
		if a.pidfd >= 0 {
			unix.Close(a.pidfd)
			a.pidfd = -1
		}
		a.isClosed = true
		if a.dead == nil {
			a.dead = ErrClosed
		}
		a.mu.Unlock()
		if err := a.exitErr(); err != nil {
			a.closeErr = fmt.Errorf("nsjoin %s: helper: %w", a.target, err)
		}
	})
	return a.closeErr
}

// Wait waits for the helper to exit (after Close, or if it dies) and
// returns how it exited: nil for a clean exit.
func (a *Agent) Wait() error {
	<-a.waitDone
	if err := a.exitErr(); err != nil {
		return fmt.Errorf("nsjoin %s: helper: %w", a.target, err)
	}
	return nil
}

// headBuffer keeps the first max bytes written to it (the helper's
// stderr: the first lines say why it failed).
type headBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.b); room > 0 {
		t.b = append(t.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
