//go:build linux

package bench

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
)

// waitAddr polls until link in e's namespace is up and carries e.IP.
func waitAddr(ctx context.Context, e Endpoint, link string, timeout time.Duration) error {
	n, err := openNsLinks(e.Netns)
	if err != nil {
		return err
	}
	defer n.Close()
	deadline := time.Now().Add(timeout)
	for {
		l, err := n.waitLink(ctx, link, time.Until(deadline))
		if err != nil {
			return err
		}
		addrs, err := n.handle.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("%s/%s: list addresses: %w", e.Netns, link, err)
		}
		for _, a := range addrs {
			if a.IP.Equal(net.IP(e.IP.AsSlice())) && l.Attrs().Flags&net.FlagUp != 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/%s is not up with %s after %s (flags %v, addrs %v)", e.Netns, link, e.IP, timeout, l.Attrs().Flags, addrs)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s on %s/%s: %w", e.IP, e.Netns, link, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
