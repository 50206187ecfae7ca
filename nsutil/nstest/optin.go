package nstest

import (
	"os"
	"testing"
)

// OptIn skips t unless the environment variable env is set to something
// other than "" or "0" (the suites document "1"). It is for
// suites that are deliberately opt-in (slow benchmark integration, the
// comparisons against a real third-party binary, a helper half run by
// another test), not for a missing tool or privilege: those go through
// Skip, which fails under CI. CI sets the variables of the opt-in suites
// it runs (see .ci/run), so the choice is explicit there too.
func OptIn(t testing.TB, env, what string) {
	t.Helper()
	if v := os.Getenv(env); v == "" || v == "0" {
		t.Skipf("opt-in: set %s=1 to run %s", env, what)
	}
}
