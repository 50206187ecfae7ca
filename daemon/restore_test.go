package daemon

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/dhcp"
	"github.com/switchyard/switchyard/state"
)

// freePort returns a TCP port nothing listens on at 127.0.0.1.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestRestoreReconciles: a daemon starting on a predecessor's state
// re-opens what is still there and removes the rest, touching nothing in
// a namespace that is not the one it recorded.
func TestRestoreReconciles(t *testing.T) {
	self, err := nsIdentity(selfNS)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(network, name, netns, ifname, ip string, ino uint64) state.Endpoint {
		return state.Endpoint{Endpoint: api.Endpoint{Name: name, Network: network, Netns: netns, IfName: ifname,
			IP: ip, MAC: "02:42:00:00:00:" + ifname[3:] + "0", MTU: 1500, PortSecurity: true}, NetnsDev: self.dev, NetnsIno: ino}
	}
	a := rec("default", "a", selfNS, "eth1", "10.90.0.5/24", self.ino)
	a.DefaultRoute = true
	b := rec("blue", "b", selfNS, "eth2", "10.91.0.6/24", self.ino)
	b.SourceTable = 7
	live, dead := freePort(t), freePort(t)
	prev := state.State{
		Networks: []api.NetworkCreate{{Name: "blue", Subnet: "10.91.0.0/24"}},
		Pending: []state.Endpoint{
			rec("default", "half", selfNS, "eth7", "10.90.0.70/24", self.ino), // killed mid-attach
			rec("default", "other", selfNS, "eth8", "10.90.0.80/24", 1),       // another namespace now
		},
		Endpoints: []state.Endpoint{a, b,
			rec("default", "gone", "/nonexistent/netns", "eth3", "10.90.0.7/24", self.ino),
			rec("ghost", "lost", selfNS, "eth4", "10.92.0.8/24", self.ino), // its network is gone
			rec("default", "moved", selfNS, "eth5", "10.90.0.9/24", 1),
		},
		Published: []state.Published{
			{Network: "default", Spec: "127.0.0.1:" + live + ":a:80", Path: api.PathUserspace},
			{Network: "default", Spec: "127.0.0.1:" + dead + ":gone:80", Path: api.PathUserspace},
		},
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "sy.sock")
	s, err := state.Open(dir, state.Name(sock))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(prev); err != nil {
		t.Fatal(err)
	}
	s.Close()

	o := &fakeOpener{sources: map[string]int{}}
	d, err := newDaemon(Config{Socket: sock, StateDir: dir, DisableKernelPath: true}, o.open, o.routes())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	eps, _ := d.Endpoints("")
	var got []string
	for _, e := range eps {
		got = append(got, e.Network+"/"+e.Name)
	}
	if !slices.Equal(got, []string{"blue/b", "default/a"}) {
		t.Fatalf("restored endpoints %v, want blue/b and default/a", got)
	}
	for _, dev := range o.opened {
		c := dev.cfg
		if !c.Existing || !c.Persist || (c.Name == "eth1") != c.Gateway.IsValid() {
			t.Errorf("TAP %s re-opened with %+v: want Existing, Persist, a default route only for a", c.Name, c)
		}
	}
	if len(o.sources) != 1 || o.sources["10.91.0.6"] == 0 {
		t.Errorf("source rules %v, want b's back", o.sources)
	}
	// Leftovers go only where the namespace is the recorded one.
	slices.Sort(o.removed)
	if want := []string{selfNS + " eth4", selfNS + " eth7"}; !slices.Equal(o.removed, want) {
		t.Errorf("TAPs removed %v, want %v", o.removed, want)
	}
	if ports := d.Ports(); len(ports) != 1 || ports[0].Spec != "127.0.0.1:"+live+":a:80/tcp" {
		t.Errorf("restored ports %+v, want a's alone", ports)
	}
	if _, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, Name: "c", IP: "10.90.0.5"}); err == nil {
		t.Error("a's restored address was handed out again")
	}
	// The state now says what was restored, with nothing pending.
	b2, err := os.ReadFile(filepath.Join(dir, state.Name(sock)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	now, err := state.Decode(b2)
	if err != nil || len(now.Pending) != 0 || len(now.Endpoints) != 2 || len(now.Published) != 1 || len(now.Networks) != 1 {
		t.Fatalf("saved state after restore: %+v %v", now, err)
	}
	// A clean shutdown removes the state.
	d.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left in the state directory after Close: %v", ents)
	}
}

// TestRestoreLeases: dynamic DHCP leases survive a restart, and leases
// bound while the daemon runs are saved by the watcher's saveLeases.
func TestRestoreLeases(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sy.sock")
	s, err := state.Open(dir, state.Name(sock))
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	prev := state.State{
		Networks: []api.NetworkCreate{{Name: "blue", Subnet: "10.91.0.0/24"}},
		Leases: []state.Lease{
			{Network: "blue", MAC: "02:42:00:00:00:99", IP: "10.91.0.200", Expires: future},
			{Network: "blue", MAC: "02:42:00:00:00:98", IP: "10.91.0.201", Expires: time.Now().Add(-time.Minute)}, // expired
			{Network: "default", MAC: "02:42:00:00:00:97", IP: "10.90.0.200", Expires: future},                    // no DHCP there
		},
	}
	if err := s.Save(prev); err != nil {
		t.Fatal(err)
	}
	s.Close()
	o := &fakeOpener{sources: map[string]int{}}
	d, err := newDaemon(Config{Socket: sock, StateDir: dir}, o.open, o.routes())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	saved := func() []state.Lease {
		b, err := os.ReadFile(filepath.Join(dir, state.Name(sock)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := state.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return st.Leases
	}
	want := []state.Lease{{Network: "blue", MAC: "02:42:00:00:00:99", IP: "10.91.0.200", Expires: future}}
	if got := saved(); !slices.Equal(got, want) {
		t.Fatalf("leases after restore %+v, want %+v", got, want)
	}
	// A lease bound later (here: by hand) reaches the state at the next
	// check.
	d.mu.Lock()
	srv := d.networks["blue"].svc.dhcp
	d.mu.Unlock()
	mac, _ := net.ParseMAC("02:42:00:00:00:96")
	if err := srv.Restore([]dhcp.Lease{{MAC: mac, IP: netip.MustParseAddr("10.91.0.210"), Expires: future}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.saveLeases()
	if got := saved(); len(got) != 2 || got[1].IP != "10.91.0.210" {
		t.Fatalf("leases after a new binding %+v", got)
	}
}
