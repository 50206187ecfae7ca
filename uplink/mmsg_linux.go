package uplink

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2)/recvmmsg(2): a msghdr and the
// number of bytes sent or received.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// sendmmsg sends msgs without blocking and returns how many went out.
func sendmmsg(fd uintptr, msgs []mmsghdr) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(r), e
}

// recvmmsg receives up to len(msgs) frames without blocking.
func recvmmsg(fd uintptr, msgs []mmsghdr) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(r), e
}
