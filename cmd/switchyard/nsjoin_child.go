package main

import "github.com/switchyard/switchyard/rootless/nsjoin"

// nsjoinChildCommand is the hidden subcommand under which nsjoin.Join
// re-executes this binary inside a target's user and network namespaces.
const nsjoinChildCommand = nsjoin.ChildCommand

// nsjoinChildMain runs the nsjoin helper: it opens a TAP inside the
// namespaces nsenter put it in, passes it to the parent and then dials
// connections there on request until the parent closes the socket. It
// returns the exit status.
func nsjoinChildMain(args []string) int {
	return nsjoin.ChildMain(args)
}
