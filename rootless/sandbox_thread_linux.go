package rootless

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sandboxTmp is where the sandbox's root is built before pivot_root(2),
// as slirp4netns does.
const sandboxTmp = "/tmp"

// sandboxDirs are the host directories the sandbox shows, read-only.
var sandboxDirs = []string{"etc", "run"}

// enterSandbox builds the sandbox on a locked thread and execs the
// executable exe there as the SandboxRun phase with state. It only
// returns on failure; the thread, half-sandboxed, then ends with its
// goroutine.
func enterSandbox(exe int, state string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is not reused
		errc <- sandboxThread(exe, state)
	}()
	return <-errc
}

// sandboxThread turns the calling thread into the sandbox and execs.
func sandboxThread(exe int, state string) error {
	files, err := loaderFiles()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := sandboxRoot(files); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := dropCapabilities(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	argv := []string{"switchyard", SandboxCommand, SandboxRun, state}
	return fmt.Errorf("sandbox: %w", execveat(exe, argv, os.Environ()))
}

// sandboxRoot gives the thread a mount namespace whose root is a tmpfs
// holding read-only binds of /etc and /run, and of the loader files the
// exec needs. Mount events do not propagate back to the host (everything
// is made a slave first).
func sandboxRoot(files map[string]string) error {
	steps := []struct {
		what string
		do   func() error
	}{
		{"unshare mount namespace", func() error { return unix.Unshare(unix.CLONE_NEWNS) }},
		{"make / a recursive slave", func() error { return unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, "") }},
		{"mount tmpfs on " + sandboxTmp, func() error {
			return unix.Mount("tmpfs", sandboxTmp, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16k,mode=0755")
		}},
		{"bind /etc and /run", bindHostDirs},
		{"bind the dynamic loader", func() error { return bindFiles(sandboxTmp, files) }},
		{"chdir " + sandboxTmp, func() error { return unix.Chdir(sandboxTmp) }},
		{"pivot_root", func() error { return unix.PivotRoot(".", "old") }},
		{"chdir /", func() error { return unix.Chdir("/") }},
		{"unmount the old root", func() error { return unix.Unmount("/old", unix.MNT_DETACH) }},
		{"remove /old", func() error { return unix.Rmdir("/old") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	// As slirp4netns: a root that stays writable is no reason to fail.
	unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	return nil
}

// bindHostDirs binds the sandbox directories read-only under sandboxTmp.
func bindHostDirs() error {
	if err := unix.Mkdir(sandboxTmp+"/old", 0o755); err != nil {
		return err
	}
	for _, d := range sandboxDirs {
		from, to := "/"+d, sandboxTmp+"/"+d
		if err := unix.Mkdir(to, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(from, to, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
		if err := remountReadOnly(to, false); err != nil {
			return err
		}
	}
	return nil
}

// remountReadOnly makes the bind mount at path read-only, nosuid, nodev
// and, unless exec, noexec, keeping the flags a less privileged mount
// namespace inherited locked (atime).
func remountReadOnly(path string, exec bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	flags := uintptr(unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV) | atimeFlags(st.Flags)
	if !exec || st.Flags&unix.ST_NOEXEC != 0 {
		flags |= unix.MS_NOEXEC
	}
	if err := unix.Mount("", path, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", path, err)
	}
	return nil
}

// atimeFlags are the mount(2) flags that keep the atime behaviour statfs(2)
// reports (ST_* flags).
func atimeFlags(st int64) uintptr {
	var f uintptr
	switch {
	case st&unix.ST_NOATIME != 0:
		f = unix.MS_NOATIME
	case st&unix.ST_RELATIME != 0:
		f = unix.MS_RELATIME
	default:
		f = unix.MS_STRICTATIME
	}
	if st&unix.ST_NODIRATIME != 0 {
		f |= unix.MS_NODIRATIME
	}
	return f
}

// dropCapabilities sets no_new_privs and drops every capability but
// CAP_NET_BIND_SERVICE from the thread's bounding, ambient, permitted,
// effective and inheritable sets, as slirp4netns does; the exec that
// follows gives the new image just that.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; ; c++ {
		if c == unix.CAP_NET_BIND_SERVICE {
			continue
		}
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err == unix.EINVAL {
			break // past the last capability
		}
		if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	keep := uint32(1) << unix.CAP_NET_BIND_SERVICE
	data := [2]unix.CapUserData{{Effective: keep, Permitted: keep, Inheritable: keep}}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// execveat execs the file open at fd (execveat(2) with AT_EMPTY_PATH: the
// sandbox has no path to it). It only returns on failure.
func execveat(fd int, argv, envv []string) error {
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envvp, err := syscall.SlicePtrFromStrings(envv)
	if err != nil {
		return err
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envvp[0])), unix.AT_EMPTY_PATH, 0)
	return fmt.Errorf("execveat: %w", errno)
}
