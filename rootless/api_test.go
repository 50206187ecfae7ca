package rootless

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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
