package nstest

import (
	"fmt"
	"os"
	"testing"
)

// Strict reports whether skipping is forbidden: in CI (CI=true) or with
// SWITCHYARD_REQUIRE_ALL=1 every test must run, so a missing tool, a
// missing privilege or a failed dispatch fails the test instead.
func Strict() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SWITCHYARD_REQUIRE_ALL") == "1"
}

// Skip skips t with args as the reason, or fails it when Strict. Every
// test that cannot run goes through Skip or Skipf.
func Skip(t testing.TB, args ...any) {
	t.Helper()
	msg := fmt.Sprint(args...)
	if Strict() {
		t.Fatalf("would skip, but CI=true or SWITCHYARD_REQUIRE_ALL=1 forbids skipping: %s", msg)
	}
	t.Skip(msg)
}

// Skipf is Skip with a format.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	Skip(t, fmt.Sprintf(format, args...))
}
