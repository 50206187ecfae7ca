package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/cluster/etcdtest"
)

func TestNetworksEverywhere(t *testing.T) {
	srv := etcdtest.Start(t, "", "")
	ra, rb := newRecorder(), newRecorder()
	a, b := openStore(t, srv, "a", ra), openStore(t, srv, "b", rb)
	n1, err := a.CreateNetwork(Network{Name: "ov1", Subnet: "10.50.0.0/24", VXLANPort: 4789})
	if err != nil {
		t.Fatal(err)
	}
	n2, err := b.CreateNetwork(Network{Name: "ov2", Subnet: "10.51.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if n1.VNI != FirstVNI || n2.VNI != FirstVNI+1 {
		t.Fatalf("VNIs %d, %d; want %d, %d", n1.VNI, n2.VNI, FirstVNI, FirstVNI+1)
	}
	eventually(t, 3*time.Second, "both hosts see both networks", func() bool {
		return ra.has("ov1") && ra.has("ov2") && rb.has("ov1") && rb.has("ov2")
	})
	cases := []struct {
		name string
		n    Network
		err  error
	}{
		{"same name", Network{Name: "ov1", Subnet: "10.52.0.0/24"}, ErrConflict},
		{"taken VNI", Network{Name: "ov3", Subnet: "10.52.0.0/24", VNI: FirstVNI}, ErrConflict},
		{"overlapping subnet", Network{Name: "ov3", Subnet: "10.50.0.128/25"}, ErrConflict},
		{"VNI too large", Network{Name: "ov3", Subnet: "10.52.0.0/24", VNI: MaxVNI + 1}, ErrInvalid},
		{"bad subnet", Network{Name: "ov3", Subnet: "10.52.0.0"}, ErrInvalid},
	}
	for _, tc := range cases {
		if _, err := b.CreateNetwork(tc.n); !errors.Is(err, tc.err) {
			t.Errorf("%s: CreateNetwork error %v, want %v", tc.name, err, tc.err)
		}
	}
	if n, err := b.CreateNetwork(Network{Name: "ov3", Subnet: "10.52.0.0/24", VNI: 77}); err != nil || n.VNI != 77 {
		t.Fatalf("explicit VNI: %+v, %v", n, err)
	}
	if err := b.RemoveNetwork("ov1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a sees ov1 removed", func() bool { return !ra.has("ov1") })
	if err := b.RemoveNetwork("ov1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v, want ErrNotFound", err)
	}
	if n, err := a.CreateNetwork(Network{Name: "ov4", Subnet: "10.53.0.0/24"}); err != nil || n.VNI != FirstVNI {
		t.Fatalf("the freed VNI is not reused: %+v, %v", n, err)
	}
}

func TestConcurrentAllocationNeverTwice(t *testing.T) {
	srv := etcdtest.Start(t, "", "")
	hosts := []*Store{openStore(t, srv, "a", nil), openStore(t, srv, "b", nil), openStore(t, srv, "c", nil)}
	subnet, gw := netip.MustParsePrefix("10.60.0.0/26"), netip.MustParseAddr("10.60.0.1")
	var mu sync.Mutex
	got := map[netip.Addr]string{}
	vnis := map[uint32]string{}
	var wg sync.WaitGroup
	for i, s := range hosts {
		for j := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ep := fmt.Sprintf("%s-%d", s.Name(), j)
				a, err := s.AllocateIP("ov", subnet, gw, netip.Addr{}, ep)
				n, nerr := s.CreateNetwork(Network{Name: ep, Subnet: fmt.Sprintf("10.%d.%d.0/24", 100+i, j)})
				mu.Lock()
				defer mu.Unlock()
				if err != nil || nerr != nil {
					t.Errorf("%s: %v, %v", ep, err, nerr)
					return
				}
				if o, dup := got[a]; dup {
					t.Errorf("address %s handed to %s and %s", a, o, ep)
				}
				got[a] = ep
				if o, dup := vnis[n.VNI]; dup {
					t.Errorf("VNI %d given to %s and %s", n.VNI, o, ep)
				}
				vnis[n.VNI] = ep
			}()
		}
	}
	wg.Wait()
	if len(got) != 24 {
		t.Fatalf("%d distinct addresses, want 24", len(got))
	}
	a := hosts[0]
	held := netip.MustParseAddr("10.60.0.5")
	owner := got[held]
	if _, err := a.AllocateIP("ov", subnet, gw, held, "x"); !errors.Is(err, ErrConflict) {
		t.Fatalf("reserving %s held by %s: %v, want ErrConflict", held, owner, err)
	}
	for _, s := range hosts {
		if err := s.ReleaseIP("ov", held); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := a.AllocateIP("ov", subnet, gw, netip.Addr{}, "y"); err != nil || r != held {
		t.Fatalf("after release got %s, %v; want the freed %s", r, err, held)
	}
}

func TestRemoveRefusedWithEndpoints(t *testing.T) {
	srv := etcdtest.Start(t, "", "")
	a, b := openStore(t, srv, "a", nil), openStore(t, srv, "b", nil)
	if _, err := a.CreateNetwork(Network{Name: "ov", Subnet: "10.70.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := b.PutEndpoint(Endpoint{Network: "ov", Name: "web", MAC: "02:00:00:00:00:01", IP: "10.70.0.2"}); err != nil {
		t.Fatal(err)
	}
	err := a.RemoveNetwork("ov")
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("remove with an endpoint on b: %v, want ErrInUse", err)
	}
	t.Log(err)
	if err := b.DeleteEndpoint("ov", "web"); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveNetwork("ov"); err != nil {
		t.Fatalf("remove without endpoints: %v", err)
	}
}
