package cluster

import (
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/cluster/etcdtest"
)

// recorder is a Handler that remembers what it was told.
type recorder struct {
	mu       sync.Mutex
	added    map[string]Network
	removed  map[string]int
	changed  map[string]int
	rejoined int
}

func newRecorder() *recorder {
	return &recorder{added: map[string]Network{}, removed: map[string]int{}, changed: map[string]int{}}
}

func (r *recorder) NetworkAdded(n Network) { r.mu.Lock(); r.added[n.Name] = n; r.mu.Unlock() }
func (r *recorder) NetworkRemoved(name string) {
	r.mu.Lock()
	delete(r.added, name)
	r.removed[name]++
	r.mu.Unlock()
}
func (r *recorder) EndpointsChanged(n string) { r.mu.Lock(); r.changed[n]++; r.mu.Unlock() }
func (r *recorder) Rejoined()                 { r.mu.Lock(); r.rejoined++; r.mu.Unlock() }

func (r *recorder) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.added[name]
	return ok
}

// testTTL keeps host-death tests short.
const testTTL = 2 * time.Second

// openStore joins srv's cluster as host name with a short TTL; the store
// is closed when t ends.
func openStore(t *testing.T, srv *etcdtest.Server, name string, h Handler) *Store {
	t.Helper()
	s, err := Open(Config{Store: srv.URL(), Host: name, Advertise: netip.MustParseAddr("192.0.2.1"),
		TTL: testTTL, Handler: h, Log: slog.New(slog.NewTextHandler(testLog{t, name}, nil))})
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	t.Cleanup(func() {
		if s.ctx.Err() == nil {
			s.Close()
		}
	})
	return s
}

// eventually polls cond every 50 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// testLog writes a store's log lines to the test's log, prefixed with the
// host's name, so a failure shows what the stores did.
type testLog struct {
	t    *testing.T
	host string
}

func (w testLog) Write(p []byte) (int, error) { w.t.Log(w.host, string(p)); return len(p), nil }
