package nsutil

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSpecPath: any spec either fails or maps to a clean absolute path; a
// bare name never escapes NetnsDir.
func FuzzSpecPath(f *testing.F) {
	for _, s := range []string{"", "blue", "pid:1", "pid:-3", "pid:x", "/var/run/netns/x", "./x", "..", ".", "a/../../b", "pid:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := specPath(spec)
		if err != nil {
			return
		}
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			t.Fatalf("specPath(%q) = %q: not a clean absolute path", spec, p)
		}
		if !strings.ContainsRune(spec, '/') && !strings.HasPrefix(spec, pidPrefix) && filepath.Dir(p) != NetnsDir {
			t.Fatalf("specPath(%q) = %q escapes %s", spec, p, NetnsDir)
		}
	})
}
