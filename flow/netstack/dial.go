package netstack

import (
	"context"
	"errors"
	"fmt"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// DialTCP connects from local (zero: any) to remote in stack s, as
// gonet.DialTCPWithBind does; nothing stays open on error.
func DialTCP(ctx context.Context, s *stack.Stack, local, remote tcpip.FullAddress, proto tcpip.NetworkProtocolNumber) (*TCPConn, error) {
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, proto, &wq)
	if terr != nil {
		return nil, fmt.Errorf("netstack: tcp endpoint: %s", terr)
	}
	entry, ch := waiter.NewChannelEntry(waiter.WritableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	if local != (tcpip.FullAddress{}) {
		if terr := ep.Bind(local); terr != nil {
			ep.Close()
			return nil, fmt.Errorf("netstack: bind %v: %s", local.Addr, terr)
		}
	}
	terr = ep.Connect(remote)
	if _, ok := terr.(*tcpip.ErrConnectStarted); ok {
		select {
		case <-ctx.Done():
			ep.Close()
			return nil, ctx.Err()
		case <-ch:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		ep.Close()
		return nil, fmt.Errorf("netstack: connect %v:%d: %w", remote.Addr, remote.Port, errors.New(terr.String()))
	}
	return NewTCPConn(&wq, ep), nil
}

// DialUDP opens a UDP socket in s bound to local (zero: any) and
// connected to remote.
func DialUDP(s *stack.Stack, local, remote tcpip.FullAddress, proto tcpip.NetworkProtocolNumber) (*UDPConn, error) {
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(udp.ProtocolNumber, proto, &wq)
	if terr != nil {
		return nil, fmt.Errorf("netstack: udp endpoint: %s", terr)
	}
	if local != (tcpip.FullAddress{}) {
		if terr := ep.Bind(local); terr != nil {
			ep.Close()
			return nil, fmt.Errorf("netstack: bind %v: %s", local.Addr, terr)
		}
	}
	if terr := ep.Connect(remote); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("netstack: connect %v:%d: %s", remote.Addr, remote.Port, terr)
	}
	return NewUDPConn(&wq, ep), nil
}
