package cluster

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/switchyard/switchyard/cluster/etcdtest"
)

// endpointNames lists the names s sees on a network.
func endpointNames(s *Store, network string) map[string]Endpoint {
	out := map[string]Endpoint{}
	for _, e := range s.Endpoints(network) {
		out[e.Host+"/"+e.Name] = e
	}
	return out
}

// TestDeadHostVanishes kills a host (no revoke, as a crash): its endpoint
// leaves the other's view and its address returns to the pool within the
// TTL plus a few seconds.
func TestDeadHostVanishes(t *testing.T) {
	srv := etcdtest.Start(t, "", "")
	rb := newRecorder()
	a, b := openStore(t, srv, "a", nil), openStore(t, srv, "b", rb)
	subnet, gw := netip.MustParsePrefix("10.80.0.0/24"), netip.MustParseAddr("10.80.0.1")
	ip, err := a.AllocateIP("ov", subnet, gw, netip.Addr{}, "web")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PutEndpoint(Endpoint{Network: "ov", Name: "web", MAC: "02:00:00:00:00:01", IP: ip.String()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "b sees a/web", func() bool { _, ok := endpointNames(b, "ov")["a/web"]; return ok })
	e := endpointNames(b, "ov")["a/web"]
	if e.VTEP != "192.0.2.1" || e.Lease != a.Lease() || e.IP != ip.String() {
		t.Fatalf("record %+v: want VTEP, lease %d and IP %s", e, a.Lease(), ip)
	}
	hs, err := b.Hosts()
	if err != nil || len(hs) != 2 || hs[0].TTL <= 0 || hs[0].TTL > testTTL || time.Since(hs[0].LastKeepAlive) > testTTL+time.Second {
		t.Fatalf("hosts %+v, %v: want two members kept alive within the TTL", hs, err)
	}
	a.abandon()
	took := eventually(t, testTTL+5*time.Second, "a/web leaves b's view", func() bool { return len(endpointNames(b, "ov")) == 0 })
	t.Logf("endpoint of a dead host gone after %s (TTL %s)", took, testTTL)
	if got, err := b.AllocateIP("ov", subnet, gw, ip, "api"); err != nil || got != ip {
		t.Fatalf("dead host's address %s not released: %s, %v", ip, got, err)
	}
	if hs, _ := b.Hosts(); len(hs) != 1 || hs[0].Name != "b" {
		t.Fatalf("members after a's death: %+v", hs)
	}
}

// TestRestartReplacesRecords restarts a host before its lease expires:
// the old incarnation's records go at once, in one revision, and the new
// ones carry the new lease.
func TestRestartReplacesRecords(t *testing.T) {
	srv := etcdtest.Start(t, "", "")
	a, b := openStore(t, srv, "a", nil), openStore(t, srv, "b", nil)
	for _, n := range []string{"web", "db"} {
		if err := a.PutEndpoint(Endpoint{Network: "ov", Name: n, MAC: "02:00:00:00:00:01", IP: "10.0.0.2"}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Second, "b sees both", func() bool { return len(endpointNames(b, "ov")) == 2 })
	old := a.Lease()
	a.abandon()
	a2 := openStore(t, srv, "a", nil)
	if a2.Lease() == old {
		t.Fatal("restarted host kept its old lease")
	}
	took := eventually(t, testTTL/2, "old records gone before the TTL", func() bool { return len(endpointNames(b, "ov")) == 0 })
	t.Logf("stale records replaced after %s", took)
	if err := a2.PutEndpoint(Endpoint{Network: "ov", Name: "web", MAC: "02:00:00:00:00:02", IP: "10.0.0.3"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "b sees the new web", func() bool {
		e, ok := endpointNames(b, "ov")["a/web"]
		return ok && e.Lease == a2.Lease() && e.MAC == "02:00:00:00:00:02"
	})
}

// TestEtcdRestart stops etcd for less than the TTL: the membership lease
// survives, nothing vanishes, and changes flow again afterwards; while
// etcd is down, writes fail with ErrUnavailable naming the store.
func TestEtcdRestart(t *testing.T) {
	srv := etcdtest.Start(t, "", "")
	ra := newRecorder()
	a, b := openStore(t, srv, "a", ra), openStore(t, srv, "b", nil)
	if err := b.PutEndpoint(Endpoint{Network: "ov", Name: "web", MAC: "02:00:00:00:00:01", IP: "10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a sees b/web", func() bool { return len(endpointNames(a, "ov")) == 1 })
	srv.Kill()
	_, err := a.CreateNetwork(Network{Name: "x", Subnet: "10.90.0.0/24"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("create with etcd down: %v, want ErrUnavailable", err)
	}
	t.Log(err)
	if len(endpointNames(a, "ov")) != 1 {
		t.Fatal("a forgot b/web while etcd was down")
	}
	if err := b.DeleteEndpoint("ov", "web"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("withdraw with etcd down: %v, want ErrUnavailable", err)
	}
	srv.Restart()
	if err := b.PutEndpoint(Endpoint{Network: "ov", Name: "db", MAC: "02:00:00:00:00:02", IP: "10.0.0.3"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "a sees b/db, and b/web withdrawn by the retry", func() bool {
		eps := endpointNames(a, "ov")
		_, db := eps["b/db"]
		_, web := eps["b/web"]
		return db && !web
	})
	time.Sleep(testTTL + time.Second)
	if n := len(endpointNames(a, "ov")); n != 1 {
		t.Fatalf("a sees %d endpoints a TTL after the restart, want 1", n)
	}
}
