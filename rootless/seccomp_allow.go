package rootless

// seccompAllowed are the system calls a running helper may make under
// --enable-seccomp (names as Linux spells them; those an architecture
// lacks, e.g. open or epoll_wait on arm64, are skipped there). They were
// taken from strace(1) of the helper serving its TAP, DNS, DHCP, NAT, TCP
// and UDP port forwards and its API, plus what the Go runtime and glibc
// may call (memory, threads, signals, time). Left out on purpose: exec,
// namespaces and mounts, ptrace, module loading, bpf, keyrings, UID and
// capability changes. clone is allowed without namespace flags and clone3
// made to fail with ENOSYS (seccompProgram).
var seccompAllowed = []string{
	// Memory.
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore",
	// Threads and scheduling.
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"sched_yield", "sched_getaffinity", "gettid", "getpid", "getppid", "tgkill", "tkill",
	"exit", "exit_group", "prctl", "arch_prctl", "membarrier", "getrlimit", "prlimit64", "uname",
	// Signals.
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
	// Time.
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
	// Descriptors and files (resolv.conf, the capture file, /proc reads).
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "close_range", "fcntl",
	"dup", "dup2", "dup3", "pipe", "pipe2", "eventfd2", "ioctl", "open", "openat", "lseek", "fstat",
	"newfstatat", "statx", "fsync", "fdatasync", "splice", "sendfile", "getrandom", "unlinkat",
	"unlink", "getuid", "geteuid", "getgid", "getegid",
	// Polling.
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "select", "pselect6",
	// Sockets.
	"socket", "bind", "listen", "accept", "accept4", "connect", "shutdown", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg",
	// The agent process: signal and reap it, watch the target.
	"kill", "wait4", "waitid", "pidfd_open", "pidfd_send_signal",
}
