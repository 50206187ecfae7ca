package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/switchyard/switchyard/api"
)

func TestRequestBodyStrict(t *testing.T) {
	d, _ := newTestDaemon(t)
	h := d.Handler()
	cases := []struct {
		name, body string
		want       int
	}{
		{"one object", `{"name":"n1","subnet":"10.250.1.0/24","allow_overlap":true}`, http.StatusCreated},
		{"trailing white space", `{"name":"n2","subnet":"10.250.2.0/24","allow_overlap":true}` + " \n\t", http.StatusCreated},
		{"two objects", `{"name":"n3","subnet":"10.250.3.0/24"}{"name":"n4","subnet":"10.250.4.0/24"}`, http.StatusBadRequest},
		{"trailing garbage", `{"name":"n5","subnet":"10.250.5.0/24"} x`, http.StatusBadRequest},
		{"trailing bracket", `{"name":"n6","subnet":"10.250.6.0/24"}]`, http.StatusBadRequest},
		{"unknown field", `{"name":"n7","subnet":"10.250.7.0/24","bogus":1}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/networks", strings.NewReader(tc.body)))
			if rec.Code != tc.want {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tc.want)
			}
		})
	}
	for _, n := range d.Networks() {
		if n.Name == "n3" || n.Name == "n4" || n.Name == "n5" || n.Name == "n6" {
			t.Fatalf("network %s created from a refused body", n.Name)
		}
	}
}

func TestAttachBadIfName(t *testing.T) {
	d, o := newTestDaemon(t)
	h := d.Handler()
	for _, name := range []string{"eth/0", "eth0:1", "a b", ".", "..", "abcdefghijklmnop", "x\x00"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			body := fmt.Sprintf(`{"netns":%q,"ifname":%q}`, selfNS, name)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/networks/default/endpoints", strings.NewReader(body)))
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d (%s), want 400", rec.Code, rec.Body)
			}
		})
	}
	if len(o.opened) != 0 {
		t.Fatalf("%d devices opened for bad names", len(o.opened))
	}
	if _, err := d.Attach("default", api.EndpointCreate{Netns: selfNS, IfName: "abcdefghijklmno"}); err != nil {
		t.Fatalf("15-byte name refused: %v", err)
	}
}

func TestExhaustionIsNotConflict(t *testing.T) {
	cases := []struct {
		err  error
		want int
		msg  string
	}{
		{fmt.Errorf("%w: listen: %w", ErrConflict, &netOpErr{syscall.EMFILE}), http.StatusServiceUnavailable, "out of file descriptors (the daemon's RLIMIT_NOFILE)"},
		{fmt.Errorf("%w: %w", ErrConflict, syscall.ENFILE), http.StatusServiceUnavailable, "fs.file-max"},
		{fmt.Errorf("%w: %w", ErrInvalid, syscall.ENOBUFS), http.StatusServiceUnavailable, "kernel memory"},
		{fmt.Errorf("%w: %w", ErrConflict, syscall.EADDRINUSE), http.StatusConflict, "address already in use"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		answer(rec, http.StatusOK, nil, tc.err)
		if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("%v: %d %s, want %d with %q", tc.err, rec.Code, rec.Body, tc.want, tc.msg)
		}
	}
}

// netOpErr wraps an errno the way the net package does.
type netOpErr struct{ errno syscall.Errno }

func (e *netOpErr) Error() string { return "accept: " + e.errno.Error() }
func (e *netOpErr) Unwrap() error { return e.errno }

func TestAlwaysReservedSubnets(t *testing.T) {
	for _, s := range []string{"127.0.0.0/24", "127.255.0.0/16", "0.0.0.0/8", "224.1.0.0/16", "240.0.0.0/24"} {
		err := checkSubnetUse(netip.MustParsePrefix(s), false)
		if err == nil {
			t.Errorf("%s accepted", s)
		}
	}
	d, _ := newTestDaemon(t)
	_, err := d.CreateNetwork(api.NetworkCreate{Name: "lo", Subnet: "127.0.0.0/24", AllowOverlap: true})
	if err == nil || !errors.Is(err, ErrConflict) {
		t.Fatalf("loopback subnet with --allow-overlap: %v", err)
	}
}

func TestIsHostPortName(t *testing.T) {
	for name, want := range map[string]bool{hostIfName("blue"): true, "sy0123abcd": true, "sy0123abc": false,
		"sy0123abcg": false, "eth0": false, "syr012345": false, "": false} {
		if got := isHostPortName(name); got != want {
			t.Errorf("isHostPortName(%q) = %v", name, got)
		}
	}
}
