package nsjoin_test

import (
	"os"
	"testing"

	"github.com/switchyard/switchyard/rootless/nsjoin"
)

// TestMain lets the test binary play the helper, as the switchyard binary
// does: Join re-executes /proc/self/exe with the hidden subcommand.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nsjoin.ChildCommand {
		os.Exit(nsjoin.ChildMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}
