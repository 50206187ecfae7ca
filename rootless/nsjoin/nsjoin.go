package nsjoin

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/switchyard/switchyard/tap"
)

// ChildCommand is the hidden subcommand under which Join re-executes the
// running binary; the binary must hand it to ChildMain.
const ChildCommand = "__nsjoin-child"

// Defaults of TapConfig, those of slirp4netns.
const (
	DefaultTapName = "tap0"
	DefaultMTU     = 1500
)

// Default addresses of TapConfig with Configure (slirp4netns' network
// 10.0.2.0/24: guest network+100, gateway network+2).
var (
	DefaultAddr    = netip.MustParsePrefix("10.0.2.100/24")
	DefaultGateway = netip.MustParseAddr("10.0.2.2")
)

// ErrNoTargetProcess is returned by Agent.TargetAlive in path mode: a
// namespace named by a path has no process to watch.
var ErrNoTargetProcess = errors.New("nsjoin: target named by path: no process to watch")

// ErrClosed is returned (wrapped) by dials after the agent was closed or
// exited.
var ErrClosed = errors.New("nsjoin: agent closed")

// Target names the namespaces to join: either PID (PID mode) or NetnsPath
// (path mode), like slirp4netns' --netns-type, each with an optional
// UsernsPath (--userns-path).
type Target struct {
	// PID selects PID mode: the network namespace of process PID and its
	// user namespace (skipped when it is the caller's own), or UsernsPath
	// instead of the latter when it is set.
	PID int
	// NetnsPath selects path mode: the network namespace file to join, e.g.
	// a bind mount under /run/user/UID/netns or /proc/PID/ns/net.
	NetnsPath string
	// UsernsPath is the user namespace to join before the network
	// namespace. Empty means, in path mode, to join only the network
	// namespace and, in PID mode, to join the process's user namespace.
	UsernsPath string
}

// String describes the target for messages.
func (t Target) String() string {
	if t.PID != 0 && t.UsernsPath != "" {
		return fmt.Sprintf("pid %d (userns %s)", t.PID, t.UsernsPath)
	}
	if t.PID != 0 {
		return fmt.Sprintf("pid %d", t.PID)
	}
	if t.UsernsPath != "" {
		return fmt.Sprintf("netns %s (userns %s)", t.NetnsPath, t.UsernsPath)
	}
	return "netns " + t.NetnsPath
}

// validate checks that exactly one mode is selected.
func (t Target) validate() error {
	switch {
	case t.PID < 0:
		return fmt.Errorf("bad PID %d", t.PID)
	case t.PID > 0 && t.NetnsPath != "":
		return errors.New("PID and NetnsPath are mutually exclusive")
	case t.PID == 0 && t.NetnsPath == "":
		if t.UsernsPath != "" {
			return errors.New("UsernsPath needs NetnsPath")
		}
		return errors.New("no target: set PID or NetnsPath")
	}
	return nil
}

// TapConfig describes the TAP to open inside the target namespace.
type TapConfig struct {
	// Name is the interface name; empty means DefaultTapName. An existing
	// TAP of that name (e.g. created by RootlessKit with `ip tuntap add`)
	// is attached to, not replaced; a kernel template such as tap%d is
	// allowed.
	Name string
	// MTU is set on the interface with Configure; 0 means DefaultMTU.
	// Without Configure the interface keeps its MTU (TapInfo reports it).
	MTU int
	// Configure does what slirp4netns -c does: loopback up, MTU, MAC, the
	// address, link up, default route via Gateway.
	Configure bool
	// MAC is the interface address (Configure only); nil keeps the
	// kernel's random one.
	MAC net.HardwareAddr
	// Addr is the interface address with its prefix length (Configure
	// only); invalid means DefaultAddr.
	Addr netip.Prefix
	// Gateway is the default route's next hop (Configure only); invalid
	// means DefaultGateway. It must lie inside Addr's prefix.
	Gateway netip.Addr
	// VnetHdr asks for a virtio-net header with checksum and TSO offloads
	// (the fast mode of package tap). If the kernel refuses either, the
	// TAP is opened without the header; TapInfo says what was granted.
	VnetHdr bool
}

// withDefaults validates tc and fills in defaults.
func (tc TapConfig) withDefaults() (TapConfig, error) {
	if tc.Name == "" {
		tc.Name = DefaultTapName
	}
	switch {
	case len(tc.Name) > tap.MaxNameLen:
		return tc, fmt.Errorf("interface name %q too long (max %d bytes)", tc.Name, tap.MaxNameLen)
	case tc.Name == "." || tc.Name == "..":
		return tc, fmt.Errorf("invalid interface name %q", tc.Name)
	case strings.ContainsAny(tc.Name, "/: \t\n\v\f\r\x00"):
		return tc, fmt.Errorf("invalid interface name %q: contains '/', ':', NUL or space", tc.Name)
	}
	if tc.MTU == 0 {
		tc.MTU = DefaultMTU
	}
	if tc.MTU < tap.MinMTU || tc.MTU > tap.MaxMTU {
		return tc, fmt.Errorf("MTU %d out of range [%d, %d]", tc.MTU, tap.MinMTU, tap.MaxMTU)
	}
	if !tc.Configure {
		if tc.MAC != nil || tc.Addr.IsValid() || tc.Gateway.IsValid() {
			return tc, errors.New("MAC, Addr and Gateway need Configure")
		}
		return tc, nil
	}
	if tc.MAC != nil {
		if len(tc.MAC) != 6 || tc.MAC[0]&1 != 0 || string(tc.MAC) == "\x00\x00\x00\x00\x00\x00" {
			return tc, fmt.Errorf("MAC %v is not a unicast Ethernet address", tc.MAC)
		}
	}
	if !tc.Addr.IsValid() {
		tc.Addr = DefaultAddr
	}
	if !tc.Gateway.IsValid() {
		tc.Gateway = DefaultGateway
	}
	a, gw := tc.Addr.Addr(), tc.Gateway
	switch {
	case a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast():
		return tc, fmt.Errorf("invalid address %v", tc.Addr)
	case gw.Zone() != "" || gw.Is4In6() || gw.IsUnspecified():
		return tc, fmt.Errorf("invalid gateway %v", gw)
	case !tc.Addr.Contains(gw):
		return tc, fmt.Errorf("gateway %v is outside %v", gw, tc.Addr.Masked())
	case gw == a:
		return tc, fmt.Errorf("gateway %v is the interface's own address", gw)
	}
	return tc, nil
}

// TapInfo describes the TAP the agent opened, as the kernel reports it after
// setup.
type TapInfo struct {
	// Name and Index identify the interface inside the target namespace.
	Name  string
	Index int
	// MTU and MAC are the interface's.
	MTU int
	MAC net.HardwareAddr
	// VnetHdr says frames carry a virtio-net header; Offload says checksum
	// and TSO offloads were granted (only with VnetHdr).
	VnetHdr, Offload bool
}

// RemoteError is an error the helper reported from inside the namespaces.
// It unwraps to the system error number when there was one, so
// errors.Is(err, syscall.ECONNREFUSED) or os.ErrPermission work.
type RemoteError struct {
	// Msg is the helper's error text, e.g. "TUNSETIFF: operation not
	// permitted".
	Msg string
	// Errno is the underlying system error, or 0.
	Errno syscall.Errno
}

func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the system error number, if any.
func (e *RemoteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
