package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tailMax is how much of a child's output is kept for error messages.
const tailMax = 8 << 10

// sigTerm asks a child to exit cleanly.
const sigTerm = syscall.SIGTERM

// tailBuffer keeps the last tailMax bytes written to it and reports when a
// marker string has appeared in the output.
type tailBuffer struct {
	mu     sync.Mutex
	buf    []byte
	marker string
	seen   chan struct{} // closed once marker has been written
}

// newTailBuffer returns a tail buffer; a non-empty marker makes Seen fire
// the first time the output contains it.
func newTailBuffer(marker string) *tailBuffer {
	return &tailBuffer{marker: marker, seen: make(chan struct{})}
}

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if t.marker != "" && bytes.Contains(t.buf, []byte(t.marker)) {
		close(t.seen)
		t.marker = ""
	}
	if len(t.buf) > tailMax {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

// String returns the kept output, trimmed.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// proc is a long-running child process (daemon, switch, server peer).
type proc struct {
	label  string
	cmd    *exec.Cmd
	stdout *tailBuffer
	stderr *tailBuffer
	stdin  io.WriteCloser // nil unless procSpec.KeepStdin
	done   chan struct{}
	err    error // Wait's result, valid after done is closed
}

// procSpec describes a long-running child process.
type procSpec struct {
	// Label names the process in logs and errors.
	Label string
	// Marker, when non-empty, is output that means "ready" (see waitReady).
	Marker string
	// Argv is the command line.
	Argv []string
	// KeepStdin gives the child a pipe as stdin that stays open until the
	// process is stopped (vde_switch exits on EOF on stdin).
	KeepStdin bool
	// ExtraFiles are passed as fds 3, 4, ... (docker-proxy's start-up
	// pipe); the caller closes its copies after the start.
	ExtraFiles []*os.File
}

// startProc starts a child in its own process group.
func startProc(log *slog.Logger, spec procSpec) (*proc, error) {
	argv := spec.Argv
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = childAttr()
	p := &proc{label: spec.Label, cmd: cmd, stdout: newTailBuffer(spec.Marker), stderr: newTailBuffer(spec.Marker), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.ExtraFiles = spec.ExtraFiles
	if spec.KeepStdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("start %s: stdin pipe: %w", spec.Label, err)
		}
		p.stdin = w
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", spec.Label, strings.Join(argv, " "), err)
	}
	log.Debug("started", "proc", spec.Label, "pid", cmd.Process.Pid, "argv", strings.Join(argv, " "))
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady waits until the marker was printed, the process exited, ctx
// ended or timeout passed.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.stdout.seen:
		return nil
	case <-p.stderr.seen:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before it was ready: %v: %s", p.label, p.err, p.output())
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", p.label, ctx.Err())
	case <-t.C:
		return fmt.Errorf("%s not ready after %s: %s", p.label, timeout, p.output())
	}
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// output returns the tails of stdout and stderr for error messages.
func (p *proc) output() string {
	return strings.TrimSpace(p.stdout.String() + "\n" + p.stderr.String())
}

// stop sends sig to the process group, waits up to grace, then SIGKILLs
// the group. It is safe to call more than once.
func (p *proc) stop(log *slog.Logger, sig syscall.Signal, grace time.Duration) {
	if p == nil {
		return
	}
	if p.stdin != nil {
		defer p.stdin.Close()
	}
	if p.exited() {
		return
	}
	pid := p.cmd.Process.Pid
	_ = killGroup(pid, sig)
	select {
	case <-p.done:
		log.Debug("stopped", "proc", p.label, "pid", pid, "signal", sig.String())
		return
	case <-time.After(grace):
	}
	log.Warn("process ignored signal, killing", "proc", p.label, "pid", pid, "signal", sig.String())
	_ = killGroup(pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		log.Error("process did not die after SIGKILL", "proc", p.label, "pid", pid)
	}
}

// runCmd runs a short command to completion within timeout and returns its
// stdout. The error carries the command line and the tail of stderr.
func runCmd(ctx context.Context, timeout time.Duration, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = childAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout bytes.Buffer
	stderr := newTailBuffer("")
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err := cmd.Run()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		msg := stderr.String()
		if msg == "" {
			msg = tail(stdout.String(), 400)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
