package nsjoin

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// target holds the opened namespaces of a Target.
type target struct {
	pidfd int      // PID mode: the target process; -1 otherwise
	net   *os.File // the network namespace
	user  *os.File // the user namespace to join, or nil
}

// close closes the namespace files (not the pidfd, which the Agent keeps).
func (ns *target) close() {
	if ns.net != nil {
		ns.net.Close()
	}
	if ns.user != nil {
		ns.user.Close()
	}
}

// openTarget opens and checks the namespaces of t, and decides whether the
// user namespace is to be joined.
func openTarget(t Target) (_ *target, err error) {
	ns := &target{pidfd: -1}
	defer func() {
		if err != nil {
			ns.close()
			if ns.pidfd >= 0 {
				unix.Close(ns.pidfd)
			}
		}
	}()
	netPath, userPath := t.NetnsPath, t.UsernsPath
	if t.PID > 0 {
		proc := "/proc/" + strconv.Itoa(t.PID)
		fd, err := unix.PidfdOpen(t.PID, 0)
		switch {
		case err == nil:
			ns.pidfd = fd
		case errors.Is(err, unix.ESRCH):
			return nil, fmt.Errorf("process %d does not exist: %w", t.PID, os.ErrNotExist)
		case !errors.Is(err, unix.ENOSYS): // before Linux 5.3: watch the PID
			return nil, fmt.Errorf("pidfd_open %d: %w", t.PID, err)
		}
		netPath = proc + "/ns/net"
		if userPath == "" {
			userPath = proc + "/ns/user"
		}
	}
	if ns.net, err = openNS(netPath, unix.CLONE_NEWNET, "network"); err != nil {
		return nil, err
	}
	if userPath != "" {
		if ns.user, err = openNS(userPath, unix.CLONE_NEWUSER, "user"); err != nil {
			return nil, err
		}
	}
	// The namespace files were opened through /proc/PID: they are the
	// target's only if it was still the same process afterwards.
	if t.PID > 0 && !pidAlive(ns.pidfd, t.PID) {
		return nil, fmt.Errorf("process %d exited: %w", t.PID, os.ErrNotExist)
	}
	if ns.user != nil {
		if owned, err := ownsNetns(ns.user, ns.net); err == nil && !owned {
			return nil, fmt.Errorf("the network namespace is not owned by user namespace %s (nor by a descendant of it)", userPath)
		}
		// The process's uid_map describes its own user namespace only.
		mapPID := t.PID
		if t.UsernsPath != "" {
			mapPID = 0
		}
		join, err := joinUserns(ns.user, mapPID)
		if err != nil {
			return nil, err
		}
		if !join {
			ns.user.Close()
			ns.user = nil
		}
	}
	return ns, nil
}

// openNS opens path and checks that it is a namespace of type typ.
func openNS(path string, typ int, what string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s namespace: %w", what, err)
	}
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil || got != typ {
		f.Close()
		return nil, fmt.Errorf("%s is not a %s namespace", path, what)
	}
	return f, nil
}

// pidAlive reports whether the process of pidfd (or, without pidfd
// support, pid) is still running: a zombie counts as gone.
func pidAlive(pidfd, pid int) bool {
	if pidfd < 0 {
		return unix.Kill(pid, 0) != unix.ESRCH
	}
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && (n == 0 || fds[0].Revents&unix.POLLIN == 0)
	}
}

// ownsNetns reports whether userns owns netns, directly or through
// descendant user namespaces, as setns(2) into netns after joining userns
// requires.
func ownsNetns(userns, netns *os.File) (bool, error) {
	var want unix.Stat_t
	if err := unix.Fstat(int(userns.Fd()), &want); err != nil {
		return false, err
	}
	fd, err := unix.IoctlRetInt(int(netns.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		return false, err
	}
	for {
		var st unix.Stat_t
		err := unix.Fstat(fd, &st)
		if err == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			unix.Close(fd)
			return true, nil
		}
		parent, perr := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		switch {
		case err != nil:
			return false, err
		case perr == unix.EPERM:
			return false, nil // the top of what we can see
		case perr != nil:
			return false, perr
		}
		fd = parent
	}
}

// joinUserns decides whether to enter the user namespace userns.
func joinUserns(userns *os.File, pid int) (bool, error) {
	var self, other unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &self); err != nil {
		return false, fmt.Errorf("own user namespace: %w", err)
	}
	if err := unix.Fstat(int(userns.Fd()), &other); err != nil {
		return false, fmt.Errorf("user namespace: %w", err)
	}
	if self.Dev == other.Dev && self.Ino == other.Ino {
		return false, nil // setns into one's own user namespace fails
	}
	if euidIsRootIn(userns, pid) || !hasCap(unix.CAP_SYS_ADMIN) || !hasCap(unix.CAP_NET_ADMIN) {
		return true, nil
	}
	return false, nil
}

// euidIsRootIn reports whether our effective UID maps to root in userns:
// exactly, from /proc/PID/uid_map, in PID mode; in path mode by the usual
// convention that the namespace's owner is mapped to root in it.
func euidIsRootIn(userns *os.File, pid int) bool {
	euid := uint32(os.Geteuid())
	if pid <= 0 {
		owner, err := unix.IoctlGetUint32(int(userns.Fd()), unix.NS_GET_OWNER_UID)
		return err == nil && owner == euid
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/uid_map")
	if err != nil {
		return true // assume the common case; the helper explains failures
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 && fs[0] == "0" && fs[1] == strconv.FormatUint(uint64(euid), 10) {
			return true
		}
	}
	return false
}
