package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
)

func sample() State {
	return State{
		Networks: []api.NetworkCreate{{Name: "blue", Subnet: "10.91.0.0/24", VLAN: 7}},
		Endpoints: []Endpoint{{Endpoint: api.Endpoint{Name: "web", Network: "blue", Netns: "/var/run/netns/web",
			IfName: "eth0", MAC: "02:42:00:00:00:01", IP: "10.91.0.2/24", MTU: 1500, DefaultRoute: true,
			Aliases: []string{"www"}}, NetnsDev: 4, NetnsIno: 4026532000}},
		Pending:    []Endpoint{{Endpoint: api.Endpoint{Name: "db", Network: "blue", IfName: "eth1", IP: "10.91.0.3/24"}}},
		Published:  []Published{{Network: "blue", Spec: "8080:web:80/tcp", Path: "both"}},
		Leases:     []Lease{{Network: "blue", MAC: "02:42:00:00:00:09", IP: "10.91.0.9", Expires: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		OldForward: "0",
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	s, err := Open(dir, Name("/run/sy.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(); found || err != nil {
		t.Fatalf("empty store: found=%v err=%v", found, err)
	}
	want := sample()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Load()
	want.Version = Version
	if !found || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load: %+v %v %v\nwant %+v", got, found, err, want)
	}
	for _, p := range []string{dir, s.Path()} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v (%v), want no group/other access", p, fi.Mode(), err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("directory holds %v, want the state and its lock", ents)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left after Remove: %v", ents)
	}
}

// TestStoreLock: one daemon per state; Close keeps the state and frees it.
func TestStoreLock(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, "d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, "d"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if err := a.Save(State{OldForward: "0"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := Open(dir, "d")
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer b.Remove()
	if st, found, err := b.Load(); !found || err != nil || st.OldForward != "0" {
		t.Fatalf("state after Close: %+v %v %v", st, found, err)
	}
}

func TestDecodeBad(t *testing.T) {
	for _, tc := range []struct{ doc, msg string }{
		{`{"version":2}`, "unsupported state version"},
		{`{"version":1,"bogus":1}`, "unknown field"},
		{`{"version":1}{}`, "trailing data"},
		{`{"version":1,"endpoints":[{"netns_ino":"x"}]}`, "cannot unmarshal"},
		{``, "EOF"},
		{`{"version":1`, "unexpected EOF"},
	} {
		if _, err := Decode([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Decode(%q): %v, want %q", tc.doc, err, tc.msg)
		}
	}
}

func TestLoadCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "d")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove()
	os.WriteFile(s.Path(), []byte("{garbage"), 0o600)
	if _, found, err := s.Load(); !found || err == nil || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("corrupt state: found=%v err=%v, want an error naming the file", found, err)
	}
}

func TestOpenBadName(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := Open(t.TempDir(), name); err == nil {
			t.Errorf("Open(%q) succeeded", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(sample())
	f.Add(b)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Decode(data)
		if err != nil {
			return
		}
		// What decodes encodes and decodes to the same.
		b, err := Encode(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
