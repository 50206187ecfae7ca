package rootless

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// RunChildCommand is the hidden subcommand a `switchyard run` child
// starts as: inside its new namespaces it waits for the network, then
// execs the user's command.
const RunChildCommand = "__run-child"

// Forward is a `switchyard run -p` port forward.
type Forward struct {
	Proto     string // tcp or udp
	HostAddr  netip.Addr
	HostPort  int
	GuestPort int
}

// RunConfig configures Run.
type RunConfig struct {
	Argv                []string
	Forwards            []Forward
	MTU                 int
	DisableHostLoopback bool
	// EnableIPv6 adds fd00::/64 as slirp4netns -6 does.
	EnableIPv6 bool
	Pcap       string
	Log        *slog.Logger
}

// Run starts argv in a new user and network namespace (the caller mapped
// to root inside), connects the namespace like slirp4netns -c does,
// forwards the ports, waits for the command and returns its exit status.
// Nothing is left behind: the namespaces die with the command.
func Run(ctx context.Context, cfg RunConfig) (int, error) {
	if len(cfg.Argv) == 0 {
		return 0, errors.New("run: no command")
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("run: %w", err)
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("run: %w", err)
	}
	defer goW.Close()
	child := exec.Command(self, append([]string{RunChildCommand}, cfg.Argv...)...)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	child.ExtraFiles = []*os.File{goR}
	child.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
		Pdeathsig:                  syscall.SIGKILL,
	}
	if err := child.Start(); err != nil {
		goR.Close()
		return 0, fmt.Errorf("run: start %s in new namespaces: %w", cfg.Argv[0], err)
	}
	goR.Close()
	h, err := startRunNetwork(ctx, child.Process.Pid, cfg)
	if err != nil {
		child.Process.Kill()
		child.Wait()
		return 0, err
	}
	defer h.Close()
	goW.Write([]byte{1}) // the network is up: run the command
	goW.Close()
	return waitChild(child)
}

// startRunNetwork connects the child's namespace and adds the forwards.
func startRunNetwork(ctx context.Context, pid int, cfg RunConfig) (*Helper, error) {
	o := DefaultOptions()
	o.PID, o.Target, o.Configure = pid, fmt.Sprint(pid), true
	o.DisableHostLoopback, o.Pcap, o.EnableIPv6 = cfg.DisableHostLoopback, cfg.Pcap, cfg.EnableIPv6
	if cfg.MTU != 0 {
		o.MTU = cfg.MTU
	}
	h, err := Start(ctx, o, cfg.Log)
	if err != nil {
		return nil, err
	}
	for _, f := range cfg.Forwards {
		if err := h.AddForward(f.Proto, f.HostAddr, f.HostPort, f.GuestPort); err != nil {
			h.Close()
			return nil, fmt.Errorf("run: forward %s %s:%d → %d: %w", f.Proto, f.HostAddr, f.HostPort, f.GuestPort, err)
		}
	}
	return h, nil
}

// waitChild relays SIGINT/SIGTERM to the command and returns its status
// as a shell would (128+signal when killed).
func waitChild(c *exec.Cmd) (int, error) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	for {
		select {
		case s := <-sigs:
			c.Process.Signal(s)
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 0, fmt.Errorf("run: %w", err)
			}
			return 0, nil
		}
	}
}

// RunChild is the child's side: wait for the parent's go (fd 3), then
// exec argv. It only returns on error.
func RunChild(argv []string) error {
	gate := os.NewFile(3, "run-gate")
	b := make([]byte, 1)
	if n, _ := gate.Read(b); n != 1 {
		return errors.New("run: the network could not be set up")
	}
	gate.Close()
	if len(argv) == 0 {
		return errors.New("run: no command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return syscall.Exec(path, argv, os.Environ())
}
