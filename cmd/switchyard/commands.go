package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/switchyard/switchyard/version"
)

// commands are the user-facing commands, for suggestions, help and
// completion (the internal re-exec commands are left out).
var commands = []string{
	"up", "network", "attach", "detach", "endpoints", "fdb", "hosts", "stats", "conntrack",
	"publish", "unpublish", "ports", "capture", "docker-proxy", "run", "slirp4netns", "bench",
	"version", "help", "completion",
}

// globals are the client flags given before the command
// (`switchyard --socket PATH --json network ls`); clientFlags.register
// takes them as defaults, so the command's own flags still win.
var globals struct {
	socket string
	json   bool
}

// takeGlobals removes the global flags in front of the command from args.
// --version and -h/--help there become the version and help commands.
func takeGlobals(args []string) ([]string, error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case a == "--json":
			globals.json = true
		case a == "--socket" && len(args) > 1:
			globals.socket = args[1]
			args = args[1:]
		case strings.HasPrefix(a, "--socket="):
			globals.socket = strings.TrimPrefix(a, "--socket=")
		case a == "--version":
			return append([]string{"version"}, args[1:]...), nil
		case a == "-h" || a == "--help":
			return append([]string{"help"}, args[1:]...), nil
		default:
			return nil, usagef("unknown global flag %q (global flags: --socket PATH, --json, --version, --help)", a)
		}
		args = args[1:]
	}
	return args, nil
}

// printVersion prints the version line `switchyard --version` and
// `switchyard version` share; docker-proxy -v and slirp4netns -v report
// the same version.String().
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "switchyard version %s\n", version.String())
}

// cmdHelp prints the whole usage, or one command's help (`help CMD` is
// `CMD --help`).
func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if !isCommand(args[0]) {
		fmt.Fprintln(stderr, unknownCommand(args[0]))
		return 2
	}
	switch args[0] {
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version":
		fmt.Fprint(stdout, "Usage: switchyard version (or switchyard --version)\n\nPrints the version: the module version and VCS commit.\n")
		return 0
	}
	return run(append(args[:1:1], "--help"), stdout, stderr)
}

// commandUsage returns the lines of the usage text about cmd.
func commandUsage(cmd string) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, l := range strings.Split(usage, "\n") {
		if strings.HasPrefix(l, "  switchyard "+cmd+" ") || l == "  switchyard "+cmd {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func isCommand(c string) bool {
	for _, k := range commands {
		if k == c {
			return true
		}
	}
	return false
}

// unknownCommand is the one-line error for an unknown command, with the
// closest command when one is near enough.
func unknownCommand(c string) string {
	msg := fmt.Sprintf("switchyard: unknown command %q", c)
	if s := suggest(c); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + " See 'switchyard --help'."
}

// suggest returns the command nearest to c (edit distance at most 2, or
// a command c is a prefix of), or "".
func suggest(c string) string {
	best, bestD := "", 3
	for _, k := range commands {
		d := editDistance(c, k)
		if len(c) >= 2 && strings.HasPrefix(k, c) {
			d = 1
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
