package rootless

import (
	"fmt"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompDenied is what a system call outside the allow-list returns:
// EPERM, as Docker's profile does, so that the helper reports an error
// instead of vanishing with its namespace's network.
const seccompDenied = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)

// seccompNoSys is what clone3 returns, so that threads are made with clone.
const seccompNoSys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// cloneNamespaces are the clone(2) flags that make new namespaces.
const cloneNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// ApplySeccomp confines every thread of the process (SECCOMP_FILTER_FLAG_TSYNC)
// to the system calls a running helper makes (seccompAllowed): a call
// outside the list fails with EPERM and is logged by the kernel's audit.
// It sets no_new_privs, which seccomp requires of a process without
// CAP_SYS_ADMIN. Call it once the helper is up: joining namespaces and
// starting processes are not allowed afterwards.
func ApplySeccomp() error {
	prog, err := seccompProgram()
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: no_new_privs: %w", err)
	}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_LOG)
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno != 0:
		return fmt.Errorf("seccomp: load filter: %w", errno)
	case r != 0:
		return fmt.Errorf("seccomp: thread %d has another filter: cannot synchronise", r)
	}
	return nil
}

// seccompProgram is the filter for the running architecture: allow the
// calls of seccompAllowed that exist there, deny everything else, and deny
// calls of other ABIs (e.g. 32-bit ones on x86-64).
func seccompProgram() ([]bpf.Instruction, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range seccompAllowed {
		if _, ok := info.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	// The library only takes named actions: assemble with kill_process
	// and trap as placeholders (the policy has no other use for them) and
	// turn their returns into the errors wanted.
	p := seccomp.Policy{DefaultAction: seccomp.ActionKillProcess, Syscalls: []seccomp.SyscallGroup{
		{Action: seccomp.ActionAllow, Names: names},
		// Threads, not namespaces.
		{Action: seccomp.ActionAllow, NamesWithCondtions: []seccomp.NameWithConditions{{Name: "clone",
			Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsNotSet, Value: cloneNamespaces}}}}},
		// clone3's flags are out of the filter's reach: ENOSYS makes
		// glibc fall back to clone.
		{Action: seccomp.ActionTrap, Names: []string{"clone3"}},
	}}
	prog, err := p.Assemble()
	if err != nil {
		return nil, err
	}
	for i, in := range prog {
		if ret, ok := in.(bpf.RetConstant); ok {
			switch ret.Val {
			case uint32(seccomp.ActionKillProcess):
				prog[i] = bpf.RetConstant{Val: seccompDenied}
			case uint32(seccomp.ActionTrap):
				prog[i] = bpf.RetConstant{Val: seccompNoSys}
			}
		}
	}
	return prog, nil
}
