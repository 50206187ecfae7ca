package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cni"
)

// cniMain runs one CNI command (CNI_COMMAND and the other CNI_ variables
// are read by skel) and returns the exit status; errors go to stdout as
// the CNI error JSON.
func cniMain(stdout, stderr io.Writer) int {
	p := &cni.Plugin{
		Dial:   func(socket string) cni.Daemon { return api.NewClient(socket) },
		Stdout: stdout,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if e := skel.PluginMainFuncsWithError(p.Funcs(), cni.Versions, cni.About); e != nil {
		b, _ := json.MarshalIndent(e, "", "    ")
		fmt.Fprintf(stdout, "%s\n", b)
		return 1
	}
	return 0
}
