package main

import (
	"testing"

	"github.com/switchyard/switchyard/api"
)

func TestSpecByHostPort(t *testing.T) {
	ps := []api.Published{
		{Network: "blue", Spec: "8080:web:80/tcp"},
		{Network: "blue", Spec: "5353:dns:53/udp"},
		{Network: "blue", Spec: "9000-9009:web:9000-9009/tcp"},
		{Network: "red", Spec: "8081:web:80/tcp"},
	}
	for _, tc := range []struct{ network, arg, want string }{
		{"blue", "8080", "8080:web:80/tcp"},
		{"blue", "8080/tcp", "8080:web:80/tcp"},
		{"blue", "5353/udp", "5353:dns:53/udp"},
		{"blue", "9005", "9000-9009:web:9000-9009/tcp"},
		{"blue", "5353", ""},      // tcp by default: none
		{"blue", "8081", ""},      // another network's
		{"blue", "80x", ""},       // not a port
		{"blue", "8080/sctp", ""}, // not a protocol
	} {
		got, err := specByHostPort(ps, tc.network, tc.arg)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("%s %s: %q, %v; want %q", tc.network, tc.arg, got, err, tc.want)
		}
	}
}
