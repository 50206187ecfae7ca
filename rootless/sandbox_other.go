//go:build !linux

package rootless

import (
	"errors"
	"log/slog"
	"net"
	"os"
)

// errNoSandbox is returned outside Linux, which has no such sandbox.
var errNoSandbox = errors.New("rootless: --enable-sandbox and --enable-seccomp need Linux")

// ExecSandbox is not supported outside Linux.
func (h *Helper) ExecSandbox() error { return errNoSandbox }

// EnterSandbox is not supported outside Linux.
func EnterSandbox(string) error { return errNoSandbox }

// ResumeSandbox is not supported outside Linux.
func ResumeSandbox(string, *slog.Logger) (*Helper, error) { return nil, errNoSandbox }

// ApplySeccomp is not supported outside Linux.
func ApplySeccomp() error { return errNoSandbox }

// listenAPI creates the API socket.
func (h *Helper) listenAPI() error {
	os.Remove(h.opts.APISocket)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: h.opts.APISocket, Net: "unix"})
	h.apiLn = ln
	return err
}

// removeAPISocket does nothing: the listener removes its socket.
func (h *Helper) removeAPISocket() {}
