package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
)

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

func TestClientSource(t *testing.T) {
	gw, gw6 := netip.MustParseAddr("10.0.2.2"), netip.MustParseAddr("fd00::2")
	for _, tc := range []struct {
		client, want string
		ipv6         bool
	}{
		{"127.0.0.1", "10.0.2.2", false},
		{"127.3.4.5", "10.0.2.2", true},
		{"::1", "10.0.2.2", false},
		{"::1", "fd00::2", true},
		{"::ffff:127.0.0.1", "10.0.2.2", true},
		{"192.0.2.7", "192.0.2.7", true},
		{"::ffff:192.0.2.7", "192.0.2.7", false},
		{"2001:db8::5", "2001:db8::5", false},
		{"2001:db8::5", "2001:db8::5", true},
	} {
		g6 := netip.Addr{}
		if tc.ipv6 {
			g6 = gw6
		}
		if got := clientSource(netip.MustParseAddr(tc.client), gw, g6); got != netip.MustParseAddr(tc.want) {
			t.Errorf("clientSource(%s, IPv6 %v) = %v, want %s", tc.client, tc.ipv6, got, tc.want)
		}
	}
}
