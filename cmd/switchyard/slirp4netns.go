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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var exitFD *os.File
	if o.ExitFD >= 0 {
		exitFD = os.NewFile(uintptr(o.ExitFD), "exit-fd")
	}
	h, err := rootless.Start(ctx, o, log)
	if err != nil {
		fmt.Fprintf(stderr, "slirp4netns: %v\n", err)
		return 1
	}
	defer h.Close()
	if o.ReadyFD >= 0 {
		ready := os.NewFile(uintptr(o.ReadyFD), "ready-fd")
		ready.Write([]byte("1"))
		ready.Close()
	}
	log.Info("slirp4netns ready", "target", o.Target, "tap", o.TapName, "mtu", o.MTU)
	h.Wait(ctx, exitFD)
	return 0
}
