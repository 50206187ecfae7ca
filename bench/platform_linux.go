//go:build linux

package bench

import "syscall"

// checkPlatform reports why the harness cannot run here: on Linux it can.
func checkPlatform() error { return nil }

// childAttr puts a child into its own process group (so a terminal's
// Ctrl-C reaches only the harness, which then tears down in order) and
// kills it if the harness dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends sig to the process group led by pid (see childAttr).
func killGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }

// processExists reports whether a process with this id is running.
func processExists(pid int) bool { return syscall.Kill(pid, 0) == nil }
