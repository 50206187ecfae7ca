package daemon

import (
	"fmt"
	"os"

	"github.com/switchyard/switchyard/portmap"
	"golang.org/x/sys/unix"
)

// fdReserve is kept free of a range's listeners: the control socket, TAPs,
// proxied connections and NAT flows need descriptors too.
const fdReserve = 512

// checkFDs refuses up front a userspace-path range the process cannot
// open: one socket per port and address family must fit in the
// RLIMIT_NOFILE soft limit beside the descriptors already open and
// fdReserve.
func checkFDs(s portmap.Spec) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("userspace path: getrlimit: %w", err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("userspace path: count open files: %w", err)
	}
	need := s.Count() * len(listenAddrs(s))
	free := int(lim.Cur) - len(fds) - fdReserve
	if need > free {
		return fmt.Errorf("%w: userspace path: %s needs %d sockets (one per port and address family) but only %d file descriptors are free "+
			"(RLIMIT_NOFILE %d, %d open, %d kept in reserve): raise the daemon's limit (ulimit -n, LimitNOFILE=) or publish with --path kernel",
			ErrInvalid, s, need, max(free, 0), lim.Cur, len(fds), fdReserve)
	}
	return nil
}
