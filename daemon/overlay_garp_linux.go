package daemon

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/switchyard/switchyard/nsutil"
	"golang.org/x/sys/unix"
)

// ethPARP is the ARP ethertype.
const ethPARP = 0x0806

// garpFrame builds a gratuitous ARP request: sender and target are the
// endpoint's own address, sent to broadcast.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 42)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:14], ethPARP)
	binary.BigEndian.PutUint16(b[14:16], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:18], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:22], 1) // request
	a := ip.As4()
	copy(b[22:28], mac)
	copy(b[28:32], a[:])
	copy(b[38:42], a[:])
	return b
}

// announce sends a gratuitous ARP out of an endpoint's interface, from
// inside its namespace, so that neighbours on every host replace a stale
// entry for a reused address (flannel#1795 is what happens without it).
func announce(nsPath, ifname string, mac net.HardwareAddr, ip netip.Addr) error {
	if !ip.Is4() || len(mac) != 6 {
		return nil
	}
	return nsutil.Do(nsPath, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("gratuitous ARP: %w", err)
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("gratuitous ARP: packet socket: %w", err)
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Protocol: htons(ethPARP), Ifindex: ifi.Index, Halen: 6,
			Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		if err := unix.Sendto(fd, garpFrame(mac, ip), 0, sa); err != nil {
			return fmt.Errorf("gratuitous ARP: %w", err)
		}
		return nil
	})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
