package tap_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/switchyard/switchyard/tap"
	"github.com/vishvananda/netlink"
)

// TestPersist: a TAP opened with Persist outlives Close with its address,
// opens again with Existing, and SetPersist(false) with Close (or Remove) takes it away.
func TestPersist(t *testing.T) {
	for _, tc := range []struct {
		plain  bool
		remove bool // Remove by name instead of SetPersist(false) and Close
	}{{false, false}, {true, false}, {false, true}} {
		t.Run("plain="+strconv.FormatBool(tc.plain)+",remove="+strconv.FormatBool(tc.remove), func(t *testing.T) {
			_, path := newNS(t)
			cfg := tap.Config{Netns: path, Name: "keep0", Persist: true, Plain: tc.plain, MTU: 1500,
				MAC:   net.HardwareAddr{0x02, 0x42, 0, 0, 2, 1},
				Addrs: []netip.Prefix{netip.MustParsePrefix("10.79.0.2/24")}, Gateway: netip.MustParseAddr("10.79.0.1")}
			d, err := tap.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			d.Close()
			wantLinks(t, path, "keep0", "lo")
			// Still configured while nobody has it open.
			h := nlHandle(t, path)
			link, err := h.LinkByName("keep0")
			if err != nil {
				t.Fatal(err)
			}
			if addrs, _ := h.AddrList(link, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IPNet.String() != "10.79.0.2/24" {
				t.Fatalf("addresses of the closed persistent TAP: %v", addrs)
			}
			cfg.Existing = true
			d, err = tap.Open(cfg)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			checkLink(t, path, d, cfg)
			if tc.remove {
				d.Close()
				if found, err := tap.Remove(path, "keep0"); !found || err != nil {
					t.Fatalf("Remove: %v %v", found, err)
				}
				if found, err := tap.Remove(path, "keep0"); found || err != nil {
					t.Fatalf("second Remove: %v %v", found, err)
				}
			} else {
				// Not persistent any more: Close removes it.
				if err := d.SetPersist(false); err != nil {
					t.Fatal(err)
				}
				d.Close()
			}
			wantLinks(t, path, "lo")
			if _, err := tap.Remove(path, "lo"); err == nil {
				t.Fatal("Remove deleted lo")
			}
		})
	}
}

// TestPersistFailedOpenLeavesNothing: a persistent TAP whose configuration
// fails is removed again.
func TestPersistFailedOpenLeavesNothing(t *testing.T) {
	_, path := newNS(t)
	// The gateway is unreachable: no route to it, so the default route
	// cannot be added after the device exists.
	cfg := tap.Config{Netns: path, Name: "keep1", Persist: true, Gateway: netip.MustParseAddr("10.80.0.1")}
	if _, err := tap.Open(cfg); err == nil {
		t.Fatal("Open with an unreachable gateway succeeded")
	}
	wantLinks(t, path, "lo")
}
