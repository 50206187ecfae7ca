package main

import (
	"bytes"
	"testing"
)

func TestICMPNotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  [][2]string // network, reason
		want string
	}{
		{"none", [][2]string{{"default", ""}, {"blue", ""}}, ""},
		{"once for all networks", [][2]string{{"blue", "no ping sockets; allow them with: X"}, {"default", "no ping sockets; allow them with: X"}},
			"\nICMP echo is not forwarded (network blue, default): no ping sockets; allow them with: X\n"},
		{"one per reason", [][2]string{{"a", "r1"}, {"b", ""}, {"c", "r2"}, {"d", "r1"}},
			"\nICMP echo is not forwarded (network a, d): r1\n\nICMP echo is not forwarded (network c): r2\n"},
	} {
		var n icmpNotes
		for _, a := range tc.add {
			n.add(a[0], a[1])
		}
		var b bytes.Buffer
		n.print(&b)
		if b.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, b.String(), tc.want)
		}
	}
}
