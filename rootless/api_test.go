package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testGuest = netip.MustParseAddr("10.0.2.100")

// fakeOpener emulates slirp's binding: a second forward on the same
// protocol and port fails unless both use distinct specific addresses.
type fakeOpener struct {
	mu     sync.Mutex
	active map[HostFwd]bool
}

type fakeCloser struct {
	o   *fakeOpener
	fwd HostFwd
}

func (c fakeCloser) Close() error {
	c.o.mu.Lock()
	defer c.o.mu.Unlock()
	delete(c.o.active, c.fwd)
	return nil
}

func (o *fakeOpener) open(fwd HostFwd) (io.Closer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for a := range o.active {
		if a.Proto == fwd.Proto && a.HostPort == fwd.HostPort &&
			(a.HostAddr == fwd.HostAddr || a.HostAddr.IsUnspecified() || fwd.HostAddr.IsUnspecified()) {
			return nil, errors.New("address in use")
		}
	}
	if o.active == nil {
		o.active = map[HostFwd]bool{}
	}
	key := fwd
	key.ID = 0
	o.active[key] = true
	return fakeCloser{o, key}, nil
}

func newFakeForwarder() *HostFwdTable {
	return NewHostFwdTable((&fakeOpener{}).open)
}

// countingListener counts the Write calls on accepted connections.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// startAPI serves a fresh fake forwarder on a unix socket.
func startAPI(t *testing.T) (path string, srv *APIServer, writes *atomic.Int64) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	writes = new(atomic.Int64)
	srv = NewAPIServer(countingListener{ln, writes}, newFakeForwarder(), testGuest, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path, srv, writes
}

// rootlessKitCall sends req, half-closes and reads to EOF, as RootlessKit.
func rootlessKitCall(t *testing.T, path, req string) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// podmanCall sends req, half-closes and does one 2048-byte read, as
// Podman.
func podmanCall(t *testing.T, path, req string) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

const (
	addReq    = `{"execute":"add_hostfwd","arguments":`
	removeReq = `{"execute":"remove_hostfwd","arguments":`
	listReq   = `{"execute":"list_hostfwd"}`
)

// TestAPIConversation replays, byte for byte, a conversation recorded
// with slirp4netns 1.2.0.
func TestAPIConversation(t *testing.T) {
	path, _, writes := startAPI(t)
	e := func(desc string) string { return `{"error":{"desc":"bad request: ` + desc + `"}}` }
	conv := []struct{ req, reply string }{
		{listReq, `{"entries":[]}`},
		{listReq + "\n", `{"entries":[]}`},
		{"", e("cannot parse JSON")},
		{"x", e("cannot parse JSON")},
		{"{}", e("no execute found")},
		{"[]", e("json_object() failed")},
		{`"abc"`, e("json_object() failed")},
		{"-", e("json_object() failed")},
		{`{"execute":1}`, e("no execute found")},
		{`{"execute":null}`, e("no execute found")},
		{`{"execute":"foo"}`, e("unknown execute")},
		{`{"execute":"LIST_HOSTFWD"}`, e("unknown execute")},
		{`{"execute":"list_hostfwd","execute":"foo"}`, e("cannot parse JSON")},
		{`{"execute":"list_hostfwd"/*c*/}`, e("cannot parse JSON")},
		// slirp4netns 1.2.0 crashes on these two; we answer.
		{`{"execute":"add_hostfwd"}`, e("add_hostfwd: bad arguments.proto")},
		{addReq + `{"proto":1,"host_port":1,"guest_port":1}}`, e("add_hostfwd: bad arguments.proto")},
		{addReq + `{"proto":"TCP","host_port":1,"guest_port":1}}`, e("add_hostfwd: bad arguments.proto")},
		{addReq + `{"proto":"sctp"}}`, e("add_hostfwd: bad arguments.proto")},
		{addReq + `{"proto":"tcp"}}`, e("add_hostfwd: bad arguments.host_port")},
		{addReq + `{"proto":"tcp","host_addr":"x"}}`, e("add_hostfwd: bad arguments.host_addr")},
		{addReq + `{"proto":"tcp","host_addr":"::"}}`, e("add_hostfwd: bad arguments.host_addr")},
		{addReq + `{"proto":"tcp","host_addr":1}}`, e("add_hostfwd: bad arguments.host_port")},
		{addReq + `{"proto":"tcp","host_addr":null}}`, e("add_hostfwd: bad arguments.host_port")},
		{addReq + `{"proto":"tcp","host_port":"80"}}`, e("add_hostfwd: bad arguments.host_port")},
		{addReq + `{"proto":"tcp","host_port":0}}`, e("add_hostfwd: bad arguments.host_port")},
		{addReq + `{"proto":"tcp","host_port":18080}}`, e("add_hostfwd: bad arguments.guest_port")},
		{addReq + `{"proto":"tcp","host_port":18090,"guest_addr":"x"}}`, e("add_hostfwd: bad arguments.guest_addr")},
		{addReq + `{"proto":"tcp","host_port":18090,"guest_addr":"::1"}}`, e("add_hostfwd: bad arguments.guest_addr")},
		{addReq + `{"proto":"tcp","host_port":18090,"guest_addr":1}}`, e("add_hostfwd: bad arguments.guest_port")},
		{addReq + `{"proto":"tcp","host_port":18090,"guest_port":"1"}}`, e("add_hostfwd: bad arguments.guest_port")},
		{addReq + `{"proto":"tcp","host_port":18080,"guest_port":80}}`, `{"return":{"id":1}}`},
		{listReq, `{"entries":[{"id":1,"proto":"tcp","host_addr":"0.0.0.0","host_port":18080,"guest_addr":"10.0.2.100","guest_port":80}]}`},
		{addReq + `{"proto":"udp","host_port":18080,"guest_port":80}}`, `{"return":{"id":2}}`},
		{addReq + `{"proto":"tcp","host_port":18080,"guest_port":80}}`, e("add_hostfwd: slirp_add_hostfwd failed")},
		{addReq + `{"proto":"tcp","host_port":18091,"guest_port":80.9}}`, `{"return":{"id":3}}`},
		{addReq + `{"proto":"tcp","host_port":18092.7,"guest_port":80}}`, `{"return":{"id":4}}`},
		{addReq + `{"proto":"tcp","host_port":18093,"guest_port":80,"host_addr":"127.0.0.1"}}`, `{"return":{"id":5}}`},
		{addReq + `{"proto":"tcp","host_port":18094,"guest_port":80,"guest_addr":""}}`, `{"return":{"id":6}}`},
		{addReq + `{"proto":"tcp","host_port":18095,"guest_port":80,"guest_addr":"1.2.3.4","extra":1}}`, `{"return":{"id":7}}`},
		{addReq + `{"proto":"tcp4","host_port":18096,"guest_port":81}}`, `{"return":{"id":8}}`},
		{removeReq + `{}}`, e("remove_hostfwd: bad arguments.id")},
		{`{"execute":"remove_hostfwd"}`, e("remove_hostfwd: bad arguments.id")},
		{removeReq + `{"id":"1"}}`, e("remove_hostfwd: bad arguments.id")},
		{removeReq + `{"id":0}}`, e("remove_hostfwd: bad arguments.id")},
		{removeReq + `{"id":99}}`, e("remove_hostfwd: bad arguments.id")},
		{removeReq + `{"id":-1}}`, e("remove_hostfwd: bad arguments.id")},
		{removeReq + `{"id":1.5}}`, `{"return":{}}`},
		{removeReq + `{"id":1}}`, e("remove_hostfwd: bad arguments.id")},
		{addReq + `{"proto":"tcp","host_port":18080,"guest_port":80}}`, `{"return":{"id":9}}`},
		{removeReq + `{"id":8}}`, `{"return":{}}`},
		{listReq + " xyz", `{"entries":[` +
			`{"id":2,"proto":"udp","host_addr":"0.0.0.0","host_port":18080,"guest_addr":"10.0.2.100","guest_port":80},` +
			`{"id":3,"proto":"tcp","host_addr":"0.0.0.0","host_port":18091,"guest_addr":"10.0.2.100","guest_port":80},` +
			`{"id":4,"proto":"tcp","host_addr":"0.0.0.0","host_port":18092,"guest_addr":"10.0.2.100","guest_port":80},` +
			`{"id":5,"proto":"tcp","host_addr":"127.0.0.1","host_port":18093,"guest_addr":"10.0.2.100","guest_port":80},` +
			`{"id":6,"proto":"tcp","host_addr":"0.0.0.0","host_port":18094,"guest_addr":"10.0.2.100","guest_port":80},` +
			`{"id":7,"proto":"tcp","host_addr":"0.0.0.0","host_port":18095,"guest_addr":"1.2.3.4","guest_port":80},` +
			`{"id":9,"proto":"tcp","host_addr":"0.0.0.0","host_port":18080,"guest_addr":"10.0.2.100","guest_port":80}]}`},
		{`{"execute":"list_\u0068ostfwd\u0000x","arguments":5}` + "\x00garbage", `{"entries":[`},
	}
	for i, step := range conv {
		call := rootlessKitCall
		if i%2 == 1 {
			call = podmanCall
		}
		got := call(t, path, step.req)
		if got != step.reply && !(strings.HasSuffix(step.reply, "[") && strings.HasPrefix(got, step.reply)) {
			t.Errorf("%q:\n got %s\nwant %s", step.req, got, step.reply)
		}
	}
	if n := writes.Load(); n != int64(len(conv)) {
		t.Errorf("%d writes for %d replies", n, len(conv))
	}
}

// TestAPITooLarge: 4095 bytes are a request, 4096 are too large, whether
// or not the client half-closes, and a client streaming /dev/zero is
// answered as soon as 4096 bytes arrived.
func TestAPITooLarge(t *testing.T) {
	path, _, _ := startAPI(t)
	tooLarge := `{"error":{"desc":"bad request: too large message"}}`
	pad := func(n int) string { return listReq + strings.Repeat(" ", n-len(listReq)) }
	if got := rootlessKitCall(t, path, pad(4095)); got != `{"entries":[]}` {
		t.Errorf("4095 bytes: %s", got)
	}
	if got := podmanCall(t, path, pad(4096)); got != tooLarge {
		t.Errorf("4096 bytes: %s", got)
	}
	for _, tc := range []struct {
		name  string
		write func(c net.Conn) error
	}{
		{"4096 without half-close", func(c net.Conn) error {
			_, err := c.Write([]byte(pad(4096)))
			return err
		}},
		{"/dev/zero", func(c net.Conn) error {
			zero := make([]byte, 1000)
			for {
				if _, err := c.Write(zero); err != nil {
					return err
				}
			}
		}},
	} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		go tc.write(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		if string(buf[:n]) != tooLarge {
			t.Errorf("%s: %q %v", tc.name, buf[:n], err)
		}
		c.Close()
	}
}

// TestAPINoHalfClose: a client that sends a complete request and waits
// gets its answer without closing its side.
func TestAPINoHalfClose(t *testing.T) {
	path, _, _ := startAPI(t)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// In two pieces: the first is not a complete value.
	c.Write([]byte(`{"execute":`))
	time.Sleep(2 * apiCompleteGrace)
	c.Write([]byte(`"list_hostfwd"}`))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if string(b) != `{"entries":[]}` || err != nil {
		t.Errorf("%q %v", b, err)
	}
}

// TestAPIConcurrent: concurrent clients get distinct IDs 1..n.
func TestAPIConcurrent(t *testing.T) {
	path, _, _ := startAPI(t)
	const n = 32
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids <- rootlessKitCall(t, path, fmt.Sprintf(addReq+`{"proto":"tcp","host_port":%d,"guest_port":80}}`, 20000+i))
			_ = rootlessKitCall(t, path, listReq)
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for r := range ids {
		seen[r] = true
	}
	for i := 1; i <= n; i++ {
		if r := fmt.Sprintf(`{"return":{"id":%d}}`, i); !seen[r] {
			t.Errorf("missing %s", r)
		}
	}
	list := rootlessKitCall(t, path, listReq)
	if c := strings.Count(list, `"id":`); c != n {
		t.Errorf("list has %d entries: %s", c, list)
	}
}

// TestAPIClose: Close returns while a client holds an idle connection,
// and Serve returns nil.
func TestAPIClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewAPIServer(ln, newFakeForwarder(), testGuest, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"exec`))
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	b, _ := io.ReadAll(c)
	if len(b) != 0 {
		t.Errorf("reply after Close: %q", b)
	}
}

func TestHostFwdMarshalJSON(t *testing.T) {
	h := HostFwd{ID: 3, Proto: "udp", HostAddr: netip.MustParseAddr("127.0.0.1"), HostPort: 53,
		GuestAddr: netip.MustParseAddr("10.0.2.100"), GuestPort: 5353}
	b, _ := h.MarshalJSON()
	want := `{"id":3,"proto":"udp","host_addr":"127.0.0.1","host_port":53,"guest_addr":"10.0.2.100","guest_port":5353}`
	if string(b) != want {
		t.Errorf("got %s", b)
	}
	if got := string(appendJSONString(nil, "a\"/\\\n\x01")); got != `"a\"\/\\\n\u0001"` {
		t.Errorf("string: %s", got)
	}
}

func TestHostFwdTable(t *testing.T) {
	var closed []int
	fail := errors.New("in use")
	tab := NewHostFwdTable(func(f HostFwd) (io.Closer, error) {
		if f.HostPort == 1 {
			return nil, fail
		}
		return testCloser(func() error { closed = append(closed, f.ID); return nil }), nil
	})
	a := netip.IPv4Unspecified()
	if _, err := tab.AddHostFwd("tcp", a, 1, testGuest, 1); !errors.Is(err, fail) {
		t.Fatalf("err %v", err)
	}
	for want := 1; want <= 3; want++ {
		if id, err := tab.AddHostFwd("tcp", a, 10+want, testGuest, 1); id != want || err != nil {
			t.Fatalf("id %d err %v; want %d", id, err, want)
		}
	}
	if err := tab.RemoveHostFwd(2); err != nil {
		t.Fatal(err)
	}
	if err := tab.RemoveHostFwd(2); !errors.Is(err, ErrNoSuchHostFwd) {
		t.Fatalf("second remove: %v", err)
	}
	if id, _ := tab.AddHostFwd("udp", a, 20, testGuest, 1); id != 4 {
		t.Fatalf("id %d after remove; want 4", id)
	}
	var ids []int
	for _, f := range tab.ListHostFwd() {
		ids = append(ids, f.ID)
	}
	if fmt.Sprint(ids) != "[1 3 4]" {
		t.Errorf("list %v", ids)
	}
	if err := tab.Close(); err != nil || len(closed) != 4 || len(tab.ListHostFwd()) != 0 {
		t.Errorf("close: %v, closed %v", err, closed)
	}
}

type testCloser func() error

func (f testCloser) Close() error { return f() }

// TestHandleBytes checks replies that do not need a socket.
func TestHandleBytes(t *testing.T) {
	f := newFakeForwarder()
	for _, tc := range []struct{ req, reply string }{
		{strings.Repeat("x", MaxAPIRequest), `{"error":{"desc":"bad request: too large message"}}`},
		{"\xef\xbb\xbf" + listReq, `{"entries":[]}`},
		{" \xef\xbb\xbf" + listReq, `{"error":{"desc":"bad request: cannot parse JSON"}}`},
		{"\x00" + listReq, `{"error":{"desc":"bad request: cannot parse JSON"}}`},
		{addReq + `{"proto":"udp4","host_addr":"","host_port":5353,"guest_port":53,"guest_addr":"10.0.2.3\u0000x"}}`, `{"return":{"id":1}}`},
		{listReq, `{"entries":[{"id":1,"proto":"udp","host_addr":"0.0.0.0","host_port":5353,"guest_addr":"10.0.2.3","guest_port":53}]}`},
		{addReq + `{"proto":"tcp","host_port":65536,"guest_port":1}}`, `{"error":{"desc":"bad request: add_hostfwd: bad arguments.host_port"}}`},
		{addReq + `{"proto":"tcp","host_port":1,"guest_port":-5}}`, `{"error":{"desc":"bad request: add_hostfwd: bad arguments.guest_port"}}`},
		{removeReq + `{"id":1e300}}`, `{"error":{"desc":"bad request: remove_hostfwd: bad arguments.id"}}`},
	} {
		if got := handle(f, testGuest, []byte(tc.req)); !bytes.Equal(got, []byte(tc.reply)) {
			t.Errorf("%.60q:\n got %s\nwant %s", tc.req, got, tc.reply)
		}
	}
}
