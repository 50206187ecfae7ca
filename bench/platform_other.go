//go:build !linux

package bench

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// errNeedsLinux is what the harness returns on other systems: it needs
// network namespaces, netlink and Linux process control. The peers and
// the report formatting work everywhere.
var errNeedsLinux = fmt.Errorf("bench needs Linux (network namespaces), not %s", runtime.GOOS)

// checkPlatform reports why the harness cannot run here.
func checkPlatform() error { return errNeedsLinux }

// childAttr returns no special attributes: process groups and parent-death
// signals are only used on Linux.
func childAttr() *syscall.SysProcAttr { return nil }

// killGroup is not supported outside Linux.
func killGroup(int, syscall.Signal) error { return errNeedsLinux }

// processExists claims every process is running, so that nothing is
// cleaned up as stale.
func processExists(int) bool { return true }

// waitAddr is not supported outside Linux.
func waitAddr(context.Context, Endpoint, string, time.Duration) error { return errNeedsLinux }
