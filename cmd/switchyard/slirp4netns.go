package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchyard/switchyard/rootless"
)

// slirp4netnsMain runs `switchyard slirp4netns ...` (also the binary
// invoked as slirp4netns): slirp4netns's command line, exit codes and
// API, on switchyard's switch and gateway.
func slirp4netnsMain(args []string, stdout, stderr io.Writer) int {
	o, err := rootless.ParseArgs(args)
	var ee *rootless.ExitError
	if errors.As(err, &ee) {
		io.WriteString(stdout, ee.Stdout)
		io.WriteString(stderr, ee.Stderr)
		return ee.Code
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	o.ResolvConf = os.Getenv("SWITCHYARD_RESOLV_CONF")
	for _, w := range o.Warnings {
		fmt.Fprintln(stdout, w)
	}
	log := helperLog(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.EnableSandbox {
		// Join and listen here, then exec into the sandbox, where the
		// helper goes on (sandboxMain).
		h, err := rootless.Prepare(ctx, o, log)
		if err == nil {
			err = h.ExecSandbox()
			h.Close()
		}
		fmt.Fprintf(stderr, "slirp4netns: %v\n", err)
		return 1
	}
	h, err := rootless.Start(ctx, o, log)
	if err != nil {
		fmt.Fprintf(stderr, "slirp4netns: %v\n", err)
		return 1
	}
	return serveHelper(ctx, h, log, stderr)
}

// sandboxMain runs the hidden phases of a helper with --enable-sandbox
// (rootless.SandboxCommand PHASE STATE).
func sandboxMain(args []string, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintf(stderr, "%s: run only by switchyard slirp4netns --enable-sandbox\n", rootless.SandboxCommand)
		return 2
	}
	switch args[0] {
	case rootless.SandboxEnter:
		fmt.Fprintf(stderr, "slirp4netns: %v\n", rootless.EnterSandbox(args[1]))
		return 1
	case rootless.SandboxRun:
		log := helperLog(stderr)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		h, err := rootless.ResumeSandbox(args[1], log)
		if err != nil {
			fmt.Fprintf(stderr, "slirp4netns: %v\n", err)
			return 1
		}
		return serveHelper(ctx, h, log, stderr)
	}
	fmt.Fprintf(stderr, "%s: unknown phase %q\n", rootless.SandboxCommand, args[0])
	return 2
}

// serveHelper applies the syscall filter when asked, signals readiness and
// serves until the helper is to exit.
func serveHelper(ctx context.Context, h *rootless.Helper, log *slog.Logger, stderr io.Writer) int {
	defer h.Close()
	o := h.Options()
	if o.EnableSeccomp {
		if err := rootless.ApplySeccomp(); err != nil {
			fmt.Fprintf(stderr, "slirp4netns: %v\n", err)
			return 1
		}
	}
	var exitFD *os.File
	if o.ExitFD >= 0 {
		exitFD = os.NewFile(uintptr(o.ExitFD), "exit-fd")
	}
	if o.ReadyFD >= 0 {
		ready := os.NewFile(uintptr(o.ReadyFD), "ready-fd")
		ready.Write([]byte("1"))
		ready.Close()
	}
	log.Info("slirp4netns ready", "target", o.Target, "tap", o.TapName, "mtu", o.MTU,
		"sandbox", o.EnableSandbox, "seccomp", o.EnableSeccomp)
	h.Wait(ctx, exitFD)
	return 0
}

// helperLog is the helper's logger, on stderr.
func helperLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
