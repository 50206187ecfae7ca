package main

import (
	"net/netip"
	"testing"
)

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		in, host, proto string
		hp, gp          int
		bad             bool
	}{
		{in: "8080:80", host: "0.0.0.0", proto: "tcp", hp: 8080, gp: 80},
		{in: "127.0.0.1:8080:80/udp", host: "127.0.0.1", proto: "udp", hp: 8080, gp: 80},
		{in: "[::1]:8080:80", host: "::1", proto: "tcp", hp: 8080, gp: 80},
		{in: "[::]:53:5353/udp", host: "::", proto: "udp", hp: 53, gp: 5353},
		{in: "[127.0.0.1]:8080:80", bad: true},
		{in: "::1:8080:80", bad: true},
		{in: "[::1:8080:80", bad: true},
		{in: "[::1]:8080", bad: true},
		{in: "8080:80:70", bad: true},
		{in: "8080", bad: true},
		{in: "8080:0", bad: true},
		{in: "8080:80/sctp", bad: true},
		{in: "[fe80::1%eth0]:8080:80", host: "fe80::1%eth0", proto: "tcp", hp: 8080, gp: 80},
	} {
		f, err := parseForward(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseForward(%q) = %+v, want an error", tc.in, f)
			}
			continue
		}
		if err != nil || f.HostAddr != netip.MustParseAddr(tc.host) || f.Proto != tc.proto || f.HostPort != tc.hp || f.GuestPort != tc.gp {
			t.Errorf("parseForward(%q) = %+v, %v", tc.in, f, err)
		}
	}
}
