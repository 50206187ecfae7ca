package dns

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"systemd-resolved stub", "# managed by systemd\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
			[]string{"127.0.0.53:53"}},
		{"several, in order", "nameserver 10.0.0.1\nnameserver 1.1.1.1\nnameserver 8.8.8.8\n",
			[]string{"10.0.0.1:53", "1.1.1.1:53", "8.8.8.8:53"}},
		{"ipv6", "nameserver 2001:4860:4860::8888\nnameserver ::1\nnameserver fe80::1%eth0\n",
			[]string{"[2001:4860:4860::8888]:53", "[::1]:53", "[fe80::1%eth0]:53"}},
		{"comments and blanks", "\n  # nameserver 9.9.9.9\n; nameserver 9.9.9.8\n\tnameserver   9.9.9.10   # quad9\nnameserver 1.0.0.1;x\n",
			[]string{"9.9.9.10:53", "1.0.0.1:53"}},
		{"duplicates", "nameserver 1.1.1.1\nnameserver 1.1.1.1\n", []string{"1.1.1.1:53"}},
		{"v4-mapped", "nameserver ::ffff:192.0.2.1\n", []string{"192.0.2.1:53"}},
		{"invalid lines ignored", "nameserver\nnameserver dns.google\nnameserver 1.2.3\nNameserver 4.4.4.4\nnameservers 5.5.5.5\nnameserver 6.6.6.6\n",
			[]string{"6.6.6.6:53"}},
		{"no trailing newline", "nameserver 192.0.2.53", []string{"192.0.2.53:53"}},
		{"crlf", "nameserver 192.0.2.53\r\n", []string{"192.0.2.53:53"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResolvConf(strings.NewReader(tt.in))
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := ParseResolvConf(strings.NewReader(strings.Repeat("x", 2<<20))); err == nil {
		t.Error("no error for a 2 MiB line")
	}
}

func TestLoadResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadResolvConf(path); err != nil || !slices.Equal(got, []string{"192.0.2.1:53"}) {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := LoadResolvConf(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
