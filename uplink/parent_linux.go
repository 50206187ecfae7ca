package uplink

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/switchyard/switchyard/mmsg"
	"github.com/switchyard/switchyard/nsutil"
	"golang.org/x/sys/unix"
)

// Open binds an AF_PACKET socket to cfg.Interface (in cfg.Netns) and
// starts its reader. The interface is put in promiscuous mode for as long
// as the socket lives (the kernel undoes it when the socket closes).
func Open(cfg Config) (*Parent, error) {
	cfg.setDefaults()
	if err := checkIfname(cfg.Interface); err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	p := &Parent{cfg: cfg, done: make(chan struct{})}
	if err := nsutil.In(cfg.Netns, p.open); err != nil {
		return nil, fmt.Errorf("uplink %s: %w", cfg.Interface, err)
	}
	p.links.Store(&linkTable{})
	p.rd = newReader(p)
	go p.readLoop()
	return p, nil
}

// open creates and configures the socket in the current namespace.
func (p *Parent) open() error {
	ifi, err := net.InterfaceByName(p.cfg.Interface)
	if err != nil {
		return fmt.Errorf("no such interface: %w", err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("not an Ethernet interface (hardware address %q)", ifi.HardwareAddr)
	}
	// Protocol 0 receives nothing until bind, so no other interface's
	// frames are queued in between.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("AF_PACKET socket: %w", err)
	}
	if err := configure(fd, ifi.Index, p.cfg.BufferBytes); err != nil {
		unix.Close(fd)
		return err
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return fmt.Errorf("bind to ifindex %d: %w", ifi.Index, err)
	}
	// A non-blocking descriptor joins Go's poller: reads and writes park
	// the goroutine, and Close wakes them.
	p.file = os.NewFile(uintptr(fd), "uplink:"+p.cfg.Interface)
	if p.rc, err = p.file.SyscallConn(); err != nil {
		p.file.Close()
		return fmt.Errorf("raw conn: %w", err)
	}
	p.mac, p.mtu = ifi.HardwareAddr, ifi.MTU
	copy(p.hmac[:], ifi.HardwareAddr)
	return nil
}

// configure sets the socket's options: virtio-net headers, the VLAN tags
// of received frames, no copies of the host's own outgoing frames,
// promiscuous mode and large buffers.
func configure(fd, ifindex, bufBytes int) error {
	for _, o := range []struct {
		name string
		opt  int
		ok   func(error) bool
	}{
		{"PACKET_VNET_HDR", unix.PACKET_VNET_HDR, nil},
		{"PACKET_AUXDATA", unix.PACKET_AUXDATA, nil},
		// Before Linux 4.20 the option is unknown; the reader then drops
		// outgoing frames by their packet type.
		{"PACKET_IGNORE_OUTGOING", unix.PACKET_IGNORE_OUTGOING, func(err error) bool { return errors.Is(err, unix.ENOPROTOOPT) }},
	} {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, o.opt, 1); err != nil && (o.ok == nil || !o.ok(err)) {
			return fmt.Errorf("setsockopt %s: %w", o.name, err)
		}
	}
	mr := &unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mr); err != nil {
		return fmt.Errorf("promiscuous mode: %w", err)
	}
	mmsg.SetBuffers(fd, bufBytes)
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
