package rootless

import (
	"os"

	"golang.org/x/sys/unix"
)

// waitEvent blocks until f has any event (data, hang-up, error) — the
// exit fd protocol of slirp4netns.
func waitEvent(f *os.File) {
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN | unix.POLLHUP | unix.POLLERR}}
	for {
		n, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n > 0 {
			return
		}
	}
}
