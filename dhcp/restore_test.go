package dhcp

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestRestore: a restarted server takes the leases of its predecessor
// back: the addresses leave the pool, the clients get them again, and
// what cannot be restored is reported and left out.
func TestRestore(t *testing.T) {
	old := newHarness(t, testSubnet, nil)
	a, b := yiaddr(old.dora(mac(1))), yiaddr(old.dora(mac(2)))
	leases := old.srv.Leases()
	now := old.clock.Now()
	leases = append(leases,
		Lease{MAC: mac(3), IP: addr("10.88.0.50"), Expires: now.Add(-time.Second)}, // expired: skipped
		Lease{MAC: mac(4), IP: addr("10.88.0.60"), Expires: now.Add(time.Hour), Static: true},
		Lease{MAC: mac(5), IP: a, Expires: now.Add(time.Hour)},                 // address taken
		Lease{MAC: mac(6), IP: addr("10.99.0.7"), Expires: now.Add(time.Hour)}, // outside
		Lease{MAC: net.HardwareAddr{1, 2}, IP: addr("10.88.0.70"), Expires: now.Add(time.Hour)},
	)
	h := newHarness(t, testSubnet, nil)
	err := h.srv.Restore(leases, now)
	for _, want := range []string{"10.88.0.2 to 02:00:00:00:00:05", "10.99.0.7", "bad MAC"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Restore error %v, want it to name %q", err, want)
		}
	}
	got := h.srv.Leases()
	if len(got) != 2 || got[0].IP != a || got[1].IP != b || !h.pool.InUse(a) || !h.pool.InUse(b) {
		t.Fatalf("restored leases %+v", got)
	}
	for _, unused := range []string{"10.88.0.50", "10.88.0.60", "10.88.0.70"} {
		if h.pool.InUse(addr(unused)) {
			t.Errorf("%s taken from the pool", unused)
		}
	}
	// The clients get their addresses again; a new one gets the next.
	if got := yiaddr(h.dora(mac(2))); got != b {
		t.Errorf("client 2 got %s, want its old %s", got, b)
	}
	if got := yiaddr(h.dora(mac(7))); got == a || got == b {
		t.Errorf("new client got a restored address %s", got)
	}
}
