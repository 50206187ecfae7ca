package portmap

import "testing"

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in, want string
		count    int
	}{
		{"8080:web:80", "8080:web:80/tcp", 1},
		{"127.0.0.1:8080:web:80/udp", "127.0.0.1:8080:web:80/udp", 1},
		{"[::1]:8080:web:80", "[::1]:8080:web:80/tcp", 1},
		{"20000-20999:db:30000-30999", "20000-20999:db:30000-30999/tcp", 1000},
		{"53:10.90.0.5:53/udp", "53:10.90.0.5:53/udp", 1},
	}
	for _, tc := range cases {
		s, err := ParseSpec(tc.in)
		if err != nil || s.String() != tc.want || s.Count() != tc.count {
			t.Errorf("ParseSpec(%q) = %v (%d ports), %v; want %s (%d)", tc.in, s, s.Count(), err, tc.want, tc.count)
		}
	}
	for _, bad := range []string{"", "8080", "8080:web", "8080::80", "0:web:80", "70000:web:80", "80:web:80/sctp",
		"80-90:web:80-85", "90-80:web:90-80", "x:8080:web:80", "[::1:8080:web:80", "a:b:c:d:e"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted it", bad)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add("127.0.0.1:8080-8090:web:80-90/udp")
	f.Fuzz(func(t *testing.T, s string) {
		if sp, err := ParseSpec(s); err == nil {
			if again, err := ParseSpec(sp.String()); err != nil || again != sp {
				t.Fatalf("%q → %q does not round-trip: %v", s, sp.String(), err)
			}
		}
	})
}
