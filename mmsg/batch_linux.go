package mmsg

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Msg is struct mmsghdr of sendmmsg(2)/recvmmsg(2): a msghdr and the
// number of bytes sent or received. Go pads it like C on 32 and 64 bits.
type Msg struct {
	Hdr unix.Msghdr
	N   uint32
}

// Batch is a set of messages with one iovec each and, when asked for, room
// for a socket address and a control message each, allocated once.
type Batch struct {
	Msgs    []Msg
	iovs    []unix.Iovec
	names   []unix.RawSockaddrAny
	ctrl    []byte
	nameLen uint32
	ctrlLen int
}

// NewBatch returns a batch of n messages. nameLen (at most
// unix.SizeofSockaddrAny) is the size of the socket address of each, 0 for
// none; ctrlLen the size of each control buffer, 0 for none.
func NewBatch(n, nameLen, ctrlLen int) Batch {
	nameLen = min(nameLen, unix.SizeofSockaddrAny)
	b := Batch{Msgs: make([]Msg, n), iovs: make([]unix.Iovec, n), nameLen: uint32(nameLen), ctrlLen: ctrlLen}
	if nameLen > 0 {
		b.names = make([]unix.RawSockaddrAny, n)
	}
	if ctrlLen > 0 {
		b.ctrl = make([]byte, n*ctrlLen)
	}
	for i := range b.Msgs {
		h := &b.Msgs[i].Hdr
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		if nameLen > 0 {
			h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		}
		if ctrlLen > 0 {
			h.Control = &b.ctrl[i*ctrlLen]
		}
	}
	return b
}

// Len returns how many messages the batch holds.
func (b *Batch) Len() int { return len(b.Msgs) }

// SetBuf points message i at buf (not empty).
func (b *Batch) SetBuf(i int, buf []byte) {
	b.iovs[i].Base = &buf[0]
	b.iovs[i].SetLen(len(buf))
}

// reset readies message i for a receive (or a send without an address
// change): full name and control lengths, no flags, no byte count.
func (b *Batch) reset(i int) {
	h := &b.Msgs[i].Hdr
	h.Namelen = b.nameLen
	if b.ctrlLen > 0 {
		h.SetControllen(b.ctrlLen)
	}
	h.Flags = 0
	b.Msgs[i].N = 0
}

// Truncated reports whether received message i lost bytes or control data.
func (b *Batch) Truncated(i int) bool {
	return b.Msgs[i].Hdr.Flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0
}

// Control returns the control data received with message i.
func (b *Batch) Control(i int) []byte {
	if b.ctrlLen == 0 {
		return nil
	}
	n := min(int(b.Msgs[i].Hdr.Controllen), b.ctrlLen)
	return b.ctrl[i*b.ctrlLen : i*b.ctrlLen+n]
}

// Linklayer returns the AF_PACKET address slot of message i (the batch
// needs nameLen >= unix.SizeofSockaddrLinklayer).
func (b *Batch) Linklayer(i int) *unix.RawSockaddrLinklayer {
	return (*unix.RawSockaddrLinklayer)(unsafe.Pointer(&b.names[i]))
}

// SetInet4 sets the destination of message i to the IPv4 address addr
// (host order) and port (the batch needs nameLen >=
// unix.SizeofSockaddrInet4).
func (b *Batch) SetInet4(i int, addr uint32, port uint16) {
	a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
	a.Family = unix.AF_INET
	p := (*[2]byte)(unsafe.Pointer(&a.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	a.Addr = [4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}
	b.Msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
}

// Inet4 returns the IPv4 source address (host order) of received message
// i, 0 when the sender was not IPv4.
func (b *Batch) Inet4(i int) uint32 {
	a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
	if a.Family != unix.AF_INET {
		return 0
	}
	return uint32(a.Addr[0])<<24 | uint32(a.Addr[1])<<16 | uint32(a.Addr[2])<<8 | uint32(a.Addr[3])
}

// send sends msgs without blocking and returns how many went out.
func send(fd uintptr, msgs []Msg) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(r), e
}

// recv receives up to len(msgs) messages without blocking.
func recv(fd uintptr, msgs []Msg) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(r), e
}
