package rootless

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseArgs feeds arbitrary command lines (arguments separated by
// NUL bytes) to the parser: it must not panic, must be deterministic, and
// must return either options within slirp4netns's limits or an
// *ExitError.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"--mtu\x0065520\x00-r\x003\x00--disable-host-loopback\x00--api-socket\x00/tmp/a.sock\x001234\x00tap0",
		"--disable-host-loopback\x00--mtu=65520\x00--enable-sandbox\x00--enable-seccomp\x00-c\x00-e\x003\x00-r\x004\x00--netns-type=path\x00/exists/ns\x00tap0",
		"-c6m1500\x001\x00tap0", "--=x", "--out=1", "-h", "-v", "--cidr\x0010.0.2.1/24\x001\x00tap0",
		"-c\x00--macaddress=aa:bb:cc:dd:ee:ff:00\x001\x00tap0", "--target-type=bess\x00x", "--\x00-1\x00tap0",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var args []string
		if len(b) > 0 {
			args = strings.Split(string(b), "\x00")
		}
		o, err := fakeParser.Parse(args)
		o2, err2 := fakeParser.Parse(args)
		if !reflect.DeepEqual(o, o2) || !reflect.DeepEqual(err, err2) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *ExitError", err)
			}
			help := errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion)
			if help != (ee.Code == 0) || (ee.Code != 0 && ee.Code != 1) {
				t.Fatalf("code %d for %v", ee.Code, err)
			}
			if ee.Code == 1 && ee.Stderr == "" && !strings.Contains(ee.Stdout, "Usage: ") {
				t.Fatalf("silent failure: %+v", ee)
			}
			return
		}
		if o.MTU < 1 || o.MTU > MaxMTU || o.ExitFD < -1 || o.ReadyFD < -1 {
			t.Fatalf("out of range: %+v", o)
		}
		if (o.NetnsType == "pid") != (o.PID > 0) || (o.NetnsType != "pid" && o.NetnsType != "path") {
			t.Fatalf("target: %+v", o)
		}
		if !o.CIDR.IsValid() || o.CIDR.Bits() < 1 || o.CIDR.Bits() > 25 || o.CIDR.Masked() != o.CIDR {
			t.Fatalf("cidr: %v", o.CIDR)
		}
		if o.MACAddress != nil && (!o.Configure || len(o.MACAddress) != 6) {
			t.Fatalf("mac: %+v", o)
		}
		if len(o.APISocket) >= MaxAPISocketPath {
			t.Fatalf("api socket: %q", o.APISocket)
		}
	})
}

// FuzzAPIRequest feeds arbitrary requests to the API handler: it must not
// panic, and every reply must be one of the three reply shapes, valid
// JSON, without a trailing newline.
func FuzzAPIRequest(f *testing.F) {
	for _, s := range []string{
		listReq, "", "{}", "[]", "-", `{"execute":"add_hostfwd"}`,
		addReq + `{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_addr":"10.0.2.100","guest_port":80}}`,
		addReq + `{"proto":"udp4","host_port":53.9,"guest_port":1e1}}`,
		removeReq + `{"id":1}}`, `{"execute":"list_hostfwd","x":[1,-2.5e-3,true,false,null,{"a":"\u00e9\ud83d\ude00\n"}]}`,
		"\xef\xbb\xbf" + listReq, listReq + "\x00junk", `{"a":1,"a":2}`, `{"x":1.}`, `{"x":-.5}`, `{"x":0e5}`,
		strings.Repeat("[", 3000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		fwd := newFakeForwarder()
		// Two forwards to remove and list.
		handle(fwd, testGuest, []byte(addReq+`{"proto":"tcp","host_port":1,"guest_port":1}}`))
		handle(fwd, testGuest, []byte(addReq+`{"proto":"udp","host_port":1,"guest_port":1}}`))
		reply := handle(fwd, testGuest, req)
		if !json.Valid(reply) || bytes.HasSuffix(reply, []byte("\n")) {
			t.Fatalf("reply %q", reply)
		}
		var r map[string]json.RawMessage
		if err := json.Unmarshal(reply, &r); err != nil || len(r) != 1 {
			t.Fatalf("reply %q: %v", reply, err)
		}
		switch {
		case r["error"] != nil:
			if !bytes.HasPrefix(reply, []byte(`{"error":{"desc":"bad request: `)) {
				t.Fatalf("reply %q", reply)
			}
		case r["return"] != nil, r["entries"] != nil:
		default:
			t.Fatalf("reply %q", reply)
		}
		if len(req) >= MaxAPIRequest && string(reply) != `{"error":{"desc":"bad request: too large message"}}` {
			t.Fatalf("%d bytes answered %q", len(req), reply)
		}
		for i, h := range fwd.ListHostFwd() {
			if h.ID < 1 || h.HostPort < 1 || h.HostPort > 65535 || h.GuestPort < 1 || h.GuestPort > 65535 ||
				!h.HostAddr.Is4() || !h.GuestAddr.Is4() || (h.Proto != "tcp" && h.Proto != "udp") {
				t.Fatalf("entry %d: %+v", i, h)
			}
		}
	})
}
