package rootless

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// listenAPI creates the API socket (replacing a stale one) and keeps its
// directory open, so that the socket can be removed by name even from
// inside a sandbox where the path is not visible.
func (h *Helper) listenAPI() error {
	path := h.opts.APISocket
	dir, err := os.OpenFile(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("api socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		dir.Close()
		return fmt.Errorf("api socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		dir.Close()
		return fmt.Errorf("api socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // removeAPISocket does, relative to dir
	h.apiLn, h.apiDir = ln, dir
	return nil
}

// removeAPISocket removes the API socket through its directory and closes
// the directory.
func (h *Helper) removeAPISocket() {
	err := unix.Unlinkat(int(h.apiDir.Fd()), filepath.Base(h.opts.APISocket), 0)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		h.log.Warn("removing the API socket", "path", h.opts.APISocket, "err", err)
	}
	h.apiDir.Close()
	h.apiDir = nil
}
