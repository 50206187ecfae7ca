// Package tap opens Linux TAP devices inside network namespaces and exposes
// them as switch ports (port.Port).
//
// In fast mode (the default) the device is opened with IFF_VNET_HDR and TCP
// segmentation and checksum offloads are negotiated with TUNSETOFFLOAD: the
// kernel then hands over TCP super-frames of up to 64 KiB with a 10-byte
// virtio-net header in front, which the port decodes into Frame.VNet and
// writes back unchanged on the way out. In plain mode (Config.Plain) the
// device is opened with github.com/songgao/water and carries bare Ethernet
// frames.
//
// Devices are not persistent unless Config.Persist asks for it: the kernel
// removes the interface when the Device is closed (or the process exits).
// A persistent device (TUNSETPERSIST) outlives its process with its
// addresses and routes, and is opened again with Config.Existing;
// Device.SetPersist(false) before Close, or Remove, deletes it.
package tap

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Defaults applied by Open.
const (
	// DefaultMTU is used when Config.MTU is 0.
	DefaultMTU = 1500
	// DefaultTxQueueLen is used when Config.TxQueueLen is 0; the kernel's
	// default of 1000 drops frames under load.
	DefaultTxQueueLen = 10000
	// MinMTU and MaxMTU bound Config.MTU.
	MinMTU = 68
	MaxMTU = 65521
	// MaxNameLen is the longest interface name Linux accepts (IFNAMSIZ-1).
	MaxNameLen = 15
)

// ErrExists is returned (wrapped) by Open when the interface name is
// already taken in the namespace.
var ErrExists = errors.New("interface already exists")

// Config describes a TAP device to create.
type Config struct {
	// Netns names the network namespace to create the device in, as a
	// nsutil spec (path, bare name under /var/run/netns, or pid:N). Empty
	// means the namespace of the calling thread.
	Netns string
	// Name is the interface name inside the namespace, e.g. eth0. It must
	// not exist there yet, unless Existing is set.
	Name string
	// Existing opens a TAP that already exists in the namespace instead of
	// creating one: a persistent TAP (`ip tuntap add dev NAME mode tap`,
	// owned by the caller or accessible to it). It is configured as a new
	// one would be; Close detaches from it and leaves it in place.
	Existing bool
	// Persist makes the device persistent (TUNSETPERSIST): it stays in
	// the namespace, configured, after Close or the process's death, until
	// SetPersist(false) and Close, or Remove (or its namespace goes). With Existing it keeps the device
	// persistent.
	Persist bool
	// MTU is the interface MTU; 0 means DefaultMTU.
	MTU int
	// MAC is the interface's hardware address; nil picks a random locally
	// administered unicast address.
	MAC net.HardwareAddr
	// Addrs are the addresses (with prefix length) assigned to the
	// interface.
	Addrs []netip.Prefix
	// Gateway, when valid, becomes the default route of its address family
	// in the namespace, via this interface.
	Gateway netip.Addr
	// Gateway6, when valid, becomes the IPv6 default route as well (a
	// dual-stack interface has one gateway per family).
	Gateway6 netip.Addr
	// StaticIPv6 makes the interface ignore router advertisements
	// (accept_ra=0, autoconf=0): its IPv6 addresses and routes are only
	// the configured ones. IPv6 Addrs are added without duplicate address
	// detection either way (they are usable at once).
	StaticIPv6 bool
	// Plain opens the device without a virtio-net header (and so without
	// offloads), using github.com/songgao/water.
	Plain bool
	// TxQueueLen is the interface's transmit queue length; 0 means
	// DefaultTxQueueLen.
	TxQueueLen int
}

// Stats are a device's counters since Open.
type Stats struct {
	// RxFrames and TxFrames count frames read and written.
	RxFrames, TxFrames uint64
	// RxErrors counts frames dropped on read: shorter than an Ethernet
	// header, too large for the buffer they were read into, or otherwise
	// not delivered by the kernel.
	RxErrors uint64
	// TxErrors counts frames the kernel refused to take.
	TxErrors uint64
}

// counters are the atomic counterparts of Stats.
type counters struct {
	rxFrames, txFrames, rxErrors, txErrors atomic.Uint64
}

// withDefaults validates cfg and returns a copy with defaults filled in.
func (cfg Config) withDefaults() (Config, error) {
	if err := checkName(cfg.Name); err != nil {
		return cfg, err
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.MTU < MinMTU || cfg.MTU > MaxMTU {
		return cfg, fmt.Errorf("MTU %d out of range [%d, %d]", cfg.MTU, MinMTU, MaxMTU)
	}
	if cfg.TxQueueLen == 0 {
		cfg.TxQueueLen = DefaultTxQueueLen
	}
	if cfg.TxQueueLen < 0 {
		return cfg, fmt.Errorf("negative TxQueueLen %d", cfg.TxQueueLen)
	}
	if cfg.MAC == nil {
		mac, err := randomMAC()
		if err != nil {
			return cfg, err
		}
		cfg.MAC = mac
	} else {
		if len(cfg.MAC) != 6 {
			return cfg, fmt.Errorf("MAC %v: want 6 bytes, have %d", cfg.MAC, len(cfg.MAC))
		}
		if cfg.MAC[0]&1 != 0 || string(cfg.MAC) == "\x00\x00\x00\x00\x00\x00" {
			return cfg, fmt.Errorf("MAC %v is not a unicast address", cfg.MAC)
		}
		cfg.MAC = append(net.HardwareAddr(nil), cfg.MAC...)
	}
	for _, p := range cfg.Addrs {
		if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return cfg, fmt.Errorf("invalid address %v", p)
		}
	}
	cfg.Addrs = append([]netip.Prefix(nil), cfg.Addrs...)
	if cfg.Gateway.IsValid() && (cfg.Gateway.Is4In6() || cfg.Gateway.IsUnspecified()) {
		return cfg, fmt.Errorf("invalid gateway %v", cfg.Gateway)
	}
	if cfg.Gateway6.IsValid() && (!cfg.Gateway6.Is6() || cfg.Gateway6.Is4In6() || cfg.Gateway6.IsUnspecified()) {
		return cfg, fmt.Errorf("invalid IPv6 gateway %v", cfg.Gateway6)
	}
	return cfg, nil
}

// checkName applies the kernel's rules for interface names, and refuses
// templates like tap%d: Open creates exactly the name it is given.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) > MaxNameLen:
		return fmt.Errorf("interface name %q too long (%d bytes, max %d)", name, len(name), MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("invalid interface name %q", name)
	case strings.ContainsAny(name, "/:%\x00") || strings.ContainsFunc(name, isSpace):
		return fmt.Errorf("invalid interface name %q: contains '/', ':', '%%', NUL or space", name)
	}
	return nil
}

// isSpace matches what the kernel's isspace() rejects in names.
func isSpace(r rune) bool {
	return r == ' ' || (r >= '\t' && r <= '\r')
}

// randomMAC returns a random locally administered unicast address.
func randomMAC() (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if _, err := rand.Read(mac); err != nil {
		return nil, fmt.Errorf("random MAC: %w", err)
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}
