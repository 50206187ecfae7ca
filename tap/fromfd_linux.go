package tap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// FileConfig describes a TAP file that was opened elsewhere (for example by
// a helper process inside another user namespace, see rootless/nsjoin) and
// is handed to FromFile.
type FileConfig struct {
	// Name is the interface name. Empty means the name the kernel reports
	// for the file; otherwise it must match that name.
	Name string
	// MTU is the interface MTU; 0 means DefaultMTU. It sizes Info().MaxFrame
	// when offloads are off.
	MTU int
	// VNetHdr says the file was attached with IFF_VNET_HDR; it must match
	// the device's flags.
	VNetHdr bool
	// Offload says TUNSETOFFLOAD enabled checksum and TSO offloads on the
	// file (the kernel cannot be asked). It requires VNetHdr.
	Offload bool
	// MAC, Index and Netns are only reported back by MAC, Index and Netns;
	// they may be left empty.
	MAC   net.HardwareAddr
	Index int
	Netns string
}

// FromFile turns an open TAP file into a Device with the same read and write
// paths as Open. The file must have been attached to a TAP interface
// (TUNSETIFF with IFF_TAP|IFF_NO_PI; TUNGETIFF reports IFF_NO_PI whatever
// the file was attached with, so that part cannot be checked) and be pollable: created by os.NewFile
// from a non-blocking descriptor (never call Fd() on it, which makes it
// blocking). The Device takes ownership of f and closes it on Close; the
// kernel removes the interface then unless it is persistent.
func FromFile(f *os.File, fc FileConfig) (*Device, error) {
	if f == nil {
		return nil, errors.New("tap: FromFile: nil file")
	}
	d, err := fromFile(f, fc)
	if err != nil {
		name := fc.Name
		if name == "" {
			name = f.Name()
		}
		return nil, fmt.Errorf("tap %q: FromFile: %w", name, err)
	}
	return d, nil
}

// fromFile checks f against fc and builds the Device.
func fromFile(f *os.File, fc FileConfig) (*Device, error) {
	if fc.MTU == 0 {
		fc.MTU = DefaultMTU
	}
	if fc.MTU < MinMTU || fc.MTU > MaxMTU {
		return nil, fmt.Errorf("MTU %d out of range [%d, %d]", fc.MTU, MinMTU, MaxMTU)
	}
	if fc.Offload && !fc.VNetHdr {
		return nil, errors.New("offloads need the virtio-net header")
	}
	// A file that is not registered with the runtime poller would make
	// ReadFrames block an OS thread forever, immune to Close.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("file is not pollable (blocking descriptor?): %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return nil, fmt.Errorf("ifreq: %w", err)
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr) }); err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if ioErr != nil {
		return nil, fmt.Errorf("TUNGETIFF (not an attached TUN/TAP file?): %w", ioErr)
	}
	flags := ifr.Uint16()
	switch {
	case flags&unix.IFF_TAP == 0:
		return nil, fmt.Errorf("%s is a TUN device, not a TAP", ifr.Name())
	case (flags&unix.IFF_VNET_HDR != 0) != fc.VNetHdr:
		return nil, fmt.Errorf("%s: virtio-net header is %v, config says %v",
			ifr.Name(), flags&unix.IFF_VNET_HDR != 0, fc.VNetHdr)
	case fc.Name != "" && fc.Name != ifr.Name():
		return nil, fmt.Errorf("file is attached to %q", ifr.Name())
	}
	name := ifr.Name()
	d := &Device{
		name:    name,
		netns:   fc.Netns,
		index:   fc.Index,
		mac:     append(net.HardwareAddr(nil), fc.MAC...),
		vnet:    fc.VNetHdr,
		offload: fc.Offload,
		info:    newInfo(name, fc.MTU, fc.Offload),
		file:    f,
		rc:      rc,
	}
	d.rd.readFn = d.read
	d.wr.writeFn = d.write
	return d, nil
}
