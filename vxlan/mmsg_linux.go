package vxlan

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr of sendmmsg(2)/recvmmsg(2): a msghdr and the
// number of bytes sent or received. Go pads it like C on 32 and 64 bits.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// msgBatch is a set of messages with one iovec and one IPv4 socket address
// each, allocated once and reused for every call.
type msgBatch struct {
	msgs  []mmsghdr
	iovs  []unix.Iovec
	addrs []unix.RawSockaddrInet4
}

func newMsgBatch(n int) msgBatch {
	b := msgBatch{msgs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n), addrs: make([]unix.RawSockaddrInet4, n)}
	for i := range b.msgs {
		h := &b.msgs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
	}
	return b
}

// set points message i at buf and, for sending, at the IPv4 address vtep
// and UDP port.
func (b *msgBatch) set(i int, buf []byte, vtep uint32, port uint16) {
	b.iovs[i].Base = &buf[0]
	b.iovs[i].SetLen(len(buf))
	a := &b.addrs[i]
	a.Family = unix.AF_INET
	p := (*[2]byte)(unsafe.Pointer(&a.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	a.Addr = [4]byte{byte(vtep >> 24), byte(vtep >> 16), byte(vtep >> 8), byte(vtep)}
	b.msgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
	b.msgs[i].n = 0
}

// src returns the IPv4 source address of received message i (0 when the
// sender was not IPv4).
func (b *msgBatch) src(i int) uint32 {
	a := &b.addrs[i]
	if a.Family != unix.AF_INET {
		return 0
	}
	return uint32(a.Addr[0])<<24 | uint32(a.Addr[1])<<16 | uint32(a.Addr[2])<<8 | uint32(a.Addr[3])
}

// sendmmsg sends msgs[:n] without blocking and returns how many went out.
func sendmmsg(fd uintptr, msgs []mmsghdr) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(r), e
}

// recvmmsg receives up to len(msgs) datagrams without blocking.
func recvmmsg(fd uintptr, msgs []mmsghdr) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(r), e
}
