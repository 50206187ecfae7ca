//go:build !linux

package nsjoin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
)

// errUnsupported is returned on systems without Linux namespaces.
var errUnsupported = errors.New("nsjoin: namespaces are only supported on Linux")

// Agent is the helper process inside the target namespaces (Linux only).
type Agent struct{}

// Join is not supported outside Linux; it always fails.
func Join(ctx context.Context, t Target, tc TapConfig, log *slog.Logger) (*Agent, error) {
	return nil, fmt.Errorf("nsjoin %s: %w", t, errUnsupported)
}

// ChildMain is not supported outside Linux; it reports so and returns 2.
func ChildMain(args []string) int {
	fmt.Fprintln(os.Stderr, errUnsupported)
	return 2
}

// TapFile returns nil outside Linux.
func (a *Agent) TapFile() *os.File { return nil }

// TapInfo returns nothing outside Linux.
func (a *Agent) TapInfo() TapInfo { return TapInfo{} }

// TargetAlive is not supported outside Linux.
func (a *Agent) TargetAlive() (bool, error) { return false, errUnsupported }

// DialTCP is not supported outside Linux.
func (a *Agent) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return nil, errUnsupported
}

// DialTCPFrom is not supported outside Linux.
func (a *Agent) DialTCPFrom(ctx context.Context, src netip.Addr, addr netip.AddrPort) (net.Conn, error) {
	return nil, errUnsupported
}

// TapAddrs is not supported outside Linux.
func (a *Agent) TapAddrs(ctx context.Context) ([]netip.Addr, error) { return nil, errUnsupported }

// DialUDPFrom is not supported outside Linux.
func (a *Agent) DialUDPFrom(ctx context.Context, src netip.Addr, addr netip.AddrPort) (net.Conn, error) {
	return nil, errUnsupported
}

// DialUDP is not supported outside Linux.
func (a *Agent) DialUDP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return nil, errUnsupported
}

// Close does nothing outside Linux.
func (a *Agent) Close() error { return nil }

// Wait returns at once outside Linux.
func (a *Agent) Wait() error { return nil }
