package proxy

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// FuzzParseDst feeds arbitrary control-message bytes to the packet-info
// parser: it must never panic, and what it returns is valid or zero.
func FuzzParseDst(f *testing.F) {
	f.Add(pktinfo4("127.0.0.2"), false)
	f.Add(pktinfo6("::1"), true)
	f.Add(append(pktinfo6("::1"), pktinfo4("127.0.0.2")...), false)
	f.Add([]byte{}, false)
	f.Add(pktinfo4("127.0.0.2")[:20], false)
	f.Fuzz(func(t *testing.T, oob []byte, is6 bool) {
		a := parseDst(oob, is6)
		if a.IsValid() && (a.IsUnspecified() || a.Is4() == is6) {
			t.Fatalf("parseDst: %v (v6 %v)", a, is6)
		}
	})
}

// pktinfo4 is an IP_PKTINFO message with spec_dst a, as the kernel sends
// it (x/net marshals spec_dst from Src).
func pktinfo4(a string) []byte {
	return (&ipv4.ControlMessage{Src: netip.MustParseAddr(a).AsSlice()}).Marshal()
}

// pktinfo6 is an IPV6_PKTINFO message with address a, built by hand
// (x/net marshals none for an IPv4-mapped address).
func pktinfo6(a string) []byte {
	b := make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
	n := unix.CmsgLen(unix.SizeofInet6Pktinfo)
	if unix.SizeofCmsghdr == 16 {
		binary.NativeEndian.PutUint64(b, uint64(n))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(n))
	}
	binary.NativeEndian.PutUint32(b[unix.SizeofCmsghdr-8:], unix.IPPROTO_IPV6)
	binary.NativeEndian.PutUint32(b[unix.SizeofCmsghdr-4:], unix.IPV6_PKTINFO)
	addr := netip.MustParseAddr(a).As16()
	copy(b[unix.SizeofCmsghdr:], addr[:])
	return b
}

func TestParseDst(t *testing.T) {
	for _, tc := range []struct {
		oob  []byte
		v6   bool
		want string
	}{
		{pktinfo4("127.0.0.2"), false, "127.0.0.2"},
		{pktinfo6("::1"), true, "::1"},
		{pktinfo6("::ffff:127.0.0.2"), true, "::ffff:127.0.0.2"}, // IPv4 on a dual-stack socket
		// Another message first, then the packet info.
		{append((&ipv4.ControlMessage{TTL: 1}).Marshal(), pktinfo4("127.0.0.3")...), false, "127.0.0.3"},
		{pktinfo6("::1"), false, "invalid IP"}, // wrong family
		{pktinfo4("0.0.0.0"), false, "invalid IP"},
		{pktinfo4("127.0.0.2")[:20], false, "invalid IP"}, // truncated
		{nil, true, "invalid IP"},
	} {
		if got := parseDst(tc.oob, tc.v6).String(); got != tc.want {
			t.Errorf("parseDst(% x, %v) = %s; want %s", tc.oob, tc.v6, got, tc.want)
		}
	}
}
