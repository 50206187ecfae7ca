package nsjoin_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/rootless/nsjoin"
)

// TestJoinPIDWithUsernsPath is slirp4netns's `--userns-path=PATH PID`: the
// PID's network namespace, entered through the user namespace at PATH
// instead of the PID's own.
func TestJoinPIDWithUsernsPath(t *testing.T) {
	requireTools(t)
	pid := startUserns(t, nil)
	other := startUserns(t, nil)
	userns := func(p int) string { return "/proc/" + strconv.Itoa(p) + "/ns/user" }

	a := mustJoin(t, nsjoin.Target{PID: pid, UsernsPath: userns(pid)}, nsjoin.TapConfig{Configure: true, VnetHdr: true})
	if alive, err := a.TargetAlive(); err != nil || !alive {
		t.Errorf("TargetAlive: %v, %v", alive, err)
	}
	respond(mustDevice(t, a))
	udpEcho(t, a)
	if out, err := inNS(t, nil, pid, "ip", "-o", "addr", "show", "tap0"); err != nil || !strings.Contains(out, "10.0.2.100/24") {
		t.Errorf("tap0 inside pid %d: %v %s", pid, err, out)
	}

	// A user namespace that does not own the PID's network namespace is
	// refused before anything starts.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := children(t)
	a2, err := nsjoin.Join(ctx, nsjoin.Target{PID: pid, UsernsPath: userns(other)}, nsjoin.TapConfig{Name: "tap9"}, nil)
	if err == nil {
		a2.Close()
		t.Fatal("Join through a foreign user namespace succeeded")
	}
	if !strings.Contains(err.Error(), "not owned by user namespace "+userns(other)) {
		t.Errorf("foreign userns: %v", err)
	}
	noNewChildren(t, before)
}
