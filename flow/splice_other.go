//go:build !linux

package flow

import (
	"net"
	"sync/atomic"
)

// spliceConns does not apply outside Linux.
func spliceConns(dst, src net.Conn, cnt *atomic.Uint64) (error, bool) { return nil, false }
