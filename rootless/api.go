package rootless

import (
	"cmp"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strconv"
)

// HostFwd is one port forward of the API socket, as list_hostfwd reports
// it.
type HostFwd struct {
	// ID identifies the forward; IDs start at 1 and are never reused.
	ID int `json:"id"`
	// Proto is "tcp" or "udp" (the API's "tcp4"/"udp4" are normalised).
	Proto string `json:"proto"`
	// HostAddr is the IPv4 address listened on, 0.0.0.0 for all.
	HostAddr netip.Addr `json:"host_addr"`
	// HostPort is the port listened on.
	HostPort int `json:"host_port"`
	// GuestAddr is the address connected to inside the namespace.
	GuestAddr netip.Addr `json:"guest_addr"`
	// GuestPort is the port connected to inside the namespace.
	GuestPort int `json:"guest_port"`
}

// MarshalJSON encodes h exactly as slirp4netns's list_hostfwd does:
// fields in the order id, proto, host_addr, host_port, guest_addr,
// guest_port, no spaces.
func (h HostFwd) MarshalJSON() ([]byte, error) {
	return h.appendJSON(nil), nil
}

func (h HostFwd) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(h.ID), 10)
	b = append(b, `,"proto":`...)
	b = appendJSONString(b, h.Proto)
	b = append(b, `,"host_addr":`...)
	b = appendJSONString(b, h.HostAddr.String())
	b = append(b, `,"host_port":`...)
	b = strconv.AppendInt(b, int64(h.HostPort), 10)
	b = append(b, `,"guest_addr":`...)
	b = appendJSONString(b, h.GuestAddr.String())
	b = append(b, `,"guest_port":`...)
	b = strconv.AppendInt(b, int64(h.GuestPort), 10)
	return append(b, '}')
}

// appendJSONString quotes s the way parson serialises strings.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '/':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if c < 0x20 {
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// ErrNoSuchHostFwd is returned (wrapped) by Forwarder.RemoveHostFwd for an
// unknown ID; the API then answers "bad arguments.id".
var ErrNoSuchHostFwd = errors.New("no such port forward")

// Forwarder carries out the API's port-forwarding requests. It owns the
// forwarding table, IDs included: AddHostFwd assigns IDs starting at 1
// and never reuses them (a failed add consumes none), and ListHostFwd
// returns every active forward. HostFwdTable implements it on top of a
// function that opens one forward. The API server never calls it
// concurrently.
type Forwarder interface {
	// AddHostFwd starts forwarding hostAddr:hostPort (proto "tcp" or
	// "udp") to guestAddr:guestPort and returns the new forward's ID.
	// An error (e.g. the port is in use) is answered with
	// "slirp_add_hostfwd failed".
	AddHostFwd(proto string, hostAddr netip.Addr, hostPort int, guestAddr netip.Addr, guestPort int) (id int, err error)
	// RemoveHostFwd stops the forward id. It returns an error wrapping
	// ErrNoSuchHostFwd when there is none.
	RemoveHostFwd(id int) error
	// ListHostFwd returns the active forwards.
	ListHostFwd() []HostFwd
}

// MaxAPIRequest is the request size from which the API answers "too large
// message" (slirp4netns's 4096-byte buffer).
const MaxAPIRequest = 4096

// apiError is an error reply: {"error":{"desc":"bad request: <desc>"}}.
func apiError(desc string) []byte {
	return []byte(`{"error":{"desc":"bad request: ` + desc + `"}}`)
}

// handle computes the reply to one request, byte for byte as slirp4netns
// 1.2.0, except that a missing or non-string proto is an error instead of
// a crash and ports outside 1..65535 are rejected.
func handle(f Forwarder, defaultGuest netip.Addr, req []byte) []byte {
	if len(req) >= MaxAPIRequest {
		return apiError("too large message")
	}
	v, ok := parseJSON(req)
	if !ok {
		return apiError("cannot parse JSON")
	}
	if v.kind != jsonObject {
		return apiError("json_object() failed")
	}
	execute, ok := v.getString("execute")
	if !ok {
		return apiError("no execute found")
	}
	args := v.get("arguments")
	switch execute {
	case "add_hostfwd":
		return addHostFwd(f, defaultGuest, args)
	case "list_hostfwd":
		fwds := slices.Clone(f.ListHostFwd())
		slices.SortStableFunc(fwds, func(a, b HostFwd) int { return cmp.Compare(a.ID, b.ID) })
		b := []byte(`{"entries":[`)
		for i, h := range fwds {
			if i > 0 {
				b = append(b, ',')
			}
			b = h.appendJSON(b)
		}
		return append(b, "]}"...)
	case "remove_hostfwd":
		id, ok := intArg(args.getNumber("id"), 1, math.MaxInt32)
		if !ok {
			return apiError("remove_hostfwd: bad arguments.id")
		}
		if err := f.RemoveHostFwd(id); err != nil {
			if errors.Is(err, ErrNoSuchHostFwd) {
				return apiError("remove_hostfwd: bad arguments.id")
			}
			return apiError("remove_hostfwd: slirp_remove_hostfwd failed")
		}
		return []byte(`{"return":{}}`)
	}
	return apiError("unknown execute")
}

func addHostFwd(f Forwarder, defaultGuest netip.Addr, args *jsonValue) []byte {
	proto, _ := args.getString("proto")
	switch proto {
	case "tcp", "tcp4":
		proto = "tcp"
	case "udp", "udp4":
		proto = "udp"
	default:
		return apiError("add_hostfwd: bad arguments.proto")
	}
	hostAddr := netip.IPv4Unspecified()
	if s, ok := args.getString("host_addr"); ok && s != "" {
		if hostAddr, ok = inetPton4(s); !ok {
			return apiError("add_hostfwd: bad arguments.host_addr")
		}
	}
	hostPort, ok := intArg(args.getNumber("host_port"), 1, 65535)
	if !ok {
		return apiError("add_hostfwd: bad arguments.host_port")
	}
	guestAddr := defaultGuest
	if s, ok := args.getString("guest_addr"); ok && s != "" {
		if guestAddr, ok = inetPton4(s); !ok {
			return apiError("add_hostfwd: bad arguments.guest_addr")
		}
	}
	guestPort, ok := intArg(args.getNumber("guest_port"), 1, 65535)
	if !ok {
		return apiError("add_hostfwd: bad arguments.guest_port")
	}
	id, err := f.AddHostFwd(proto, hostAddr, hostPort, guestAddr, guestPort)
	if err != nil {
		return apiError("add_hostfwd: slirp_add_hostfwd failed")
	}
	b := strconv.AppendInt([]byte(`{"return":{"id":`), int64(id), 10)
	return append(b, "}}"...)
}

// intArg converts a JSON number the way slirp4netns does ((int) cast,
// truncating toward zero) and checks it is within min..max.
func intArg(f float64, min, max int) (int, bool) {
	t := math.Trunc(f)
	if math.IsNaN(t) || t < float64(min) || t > float64(max) {
		return 0, false
	}
	return int(t), true
}
