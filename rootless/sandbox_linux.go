package rootless

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/switchyard/switchyard/rootless/nsjoin"
	"golang.org/x/sys/unix"
)

// sandboxState is what a helper hands over to its next image.
type sandboxState struct {
	Options Options
	Agent   nsjoin.Handover
	API     int // the API socket's listener, -1 without
	APIDir  int // its directory (O_PATH), -1 without
	Exe     int // the executable (O_PATH)
}

// ExecSandbox moves a prepared helper (Prepare) into a sandbox as
// slirp4netns --enable-sandbox does, keeping its process ID: a new mount
// namespace whose root is an empty read-only tmpfs holding read-only /etc
// and /run of the host, no_new_privs, and every capability dropped but
// CAP_NET_BIND_SERVICE. A multi-threaded Go process can neither do that to
// all its threads nor, unprivileged, join a user namespace, so it is done
// on one thread that then execs the helper again (SandboxRun), handing
// over the agent, the TAP and the API socket; an unprivileged helper first
// execs nsenter(1) into the target's user namespace (SandboxEnter). It
// only returns on failure, when h is still to be closed.
func (h *Helper) ExecSandbox() error {
	if h.opts.Pcap != "" {
		return errors.New("sandbox: --pcap cannot be used with --enable-sandbox (nothing in the sandbox is writable)")
	}
	ups, err := LoadResolvers(h.opts.ResolvConf) // the sandbox may not show it
	if err != nil {
		h.log.Warn("no upstream resolvers", "err", err)
		ups = []string{}
	}
	st := sandboxState{Options: h.opts, API: -1, APIDir: -1}
	st.Options.Resolvers = ups
	if st.Agent, err = h.agent.Handover(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if h.apiLn != nil {
		if st.API, err = nsjoin.KeepOnExec(h.apiLn); err != nil {
			return fmt.Errorf("sandbox: api socket: %w", err)
		}
		if st.APIDir, err = nsjoin.KeepOnExec(h.apiDir); err != nil {
			return fmt.Errorf("sandbox: api socket directory: %w", err)
		}
	}
	if st.Exe, err = unix.Open("/proc/self/exe", unix.O_PATH, 0); err != nil {
		return fmt.Errorf("sandbox: own executable: %w", err)
	}
	defer unix.Close(st.Exe)
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if os.Geteuid() == 0 {
		return enterSandbox(st.Exe, string(data))
	}
	return h.execInUserns(st.Exe, string(data))
}

// execInUserns execs nsenter, which joins the target's user namespace as
// its root and execs the helper's SandboxEnter phase.
func (h *Helper) execInUserns(exe int, state string) error {
	userns := h.opts.UsernsPath
	if userns == "" && h.opts.PID > 0 {
		userns = "/proc/" + strconv.Itoa(h.opts.PID) + "/ns/user"
	}
	if userns == "" {
		return errors.New("sandbox: an unprivileged helper needs the target's user namespace (a PID or --userns-path)")
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("sandbox: nsenter (util-linux) is needed: %w", err)
	}
	fd, err := unix.Open(userns, unix.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("sandbox: user namespace %s: %w", userns, err)
	}
	defer unix.Close(fd)
	// The caller's UID is root there (as with unshare -r and RootlessKit):
	// it keeps it, and so gets every capability in it.
	argv := []string{"nsenter", "--user=/proc/self/fd/" + strconv.Itoa(fd), "--preserve-credentials", "--",
		"/proc/self/fd/" + strconv.Itoa(exe), SandboxCommand, SandboxEnter, state}
	if err := syscall.Exec(nsenter, argv, os.Environ()); err != nil {
		return fmt.Errorf("sandbox: exec nsenter: %w", err)
	}
	return nil
}

// EnterSandbox is the SandboxEnter phase: it builds the sandbox and execs
// the SandboxRun phase. It only returns on failure, having removed the
// API socket (the agent exits with this process).
func EnterSandbox(state string) error {
	var st sandboxState
	if err := json.Unmarshal([]byte(state), &st); err != nil {
		return fmt.Errorf("sandbox: bad state: %w", err)
	}
	err := errors.New("sandbox: the helper's UID is not root in the target's user namespace")
	if os.Geteuid() == 0 {
		err = enterSandbox(st.Exe, state)
	}
	if st.APIDir >= 0 {
		unix.Unlinkat(st.APIDir, filepath.Base(st.Options.APISocket), 0)
	}
	return err
}

// ResumeSandbox is the SandboxRun phase: it takes over what ExecSandbox
// handed over and starts the helper inside the sandbox.
func ResumeSandbox(state string, log *slog.Logger) (*Helper, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st sandboxState
	if err := json.Unmarshal([]byte(state), &st); err != nil {
		return nil, fmt.Errorf("sandbox: bad state: %w", err)
	}
	unix.Close(st.Exe)
	h := &Helper{opts: st.Options, log: log}
	if st.APIDir >= 0 {
		unix.CloseOnExec(st.APIDir)
		h.apiDir = os.NewFile(uintptr(st.APIDir), "api-socket-dir")
	}
	var err error
	if h.agent, err = nsjoin.Adopt(st.Agent, log); err != nil {
		h.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if st.API >= 0 {
		unix.CloseOnExec(st.API)
		f := os.NewFile(uintptr(st.API), "api-socket")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("sandbox: api socket: %w", err)
		}
		ul, ok := ln.(*net.UnixListener)
		if !ok {
			ln.Close()
			h.Close()
			return nil, fmt.Errorf("sandbox: api socket is a %T", ln)
		}
		ul.SetUnlinkOnClose(false)
		h.apiLn = ul
	}
	if err := h.start(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}
