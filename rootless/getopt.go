package rootless

import (
	"fmt"
	"strings"
)

// argKind says whether a long option takes an argument, as getopt_long's
// has_arg.
type argKind int

const (
	noArg argKind = iota
	requiredArg
)

// longOpt is one entry of a getopt_long option table: name is the option
// without its leading "--", key identifies it to the caller.
type longOpt struct {
	name string
	kind argKind
	key  string
}

// optEvent is one option found by getopt: key identifies the option (the
// short letter, or the long option's key) and arg is its argument.
type optEvent struct {
	key string
	arg string
}

// getopt is a re-implementation of glibc's getopt_long in its default
// (permuting) mode, messages included. It is fed the arguments without the
// program name and yields options one by one, collecting non-options (the
// positional arguments) in their original order, like glibc's
// permutation: options may follow positional arguments, "--" ends the
// options, a lone "-" is positional. Long options match exactly or by an
// unambiguous prefix, take their argument after '=' or as the next
// argument; short options cluster ("-c6m1500") and take the rest of the
// cluster or the next argument.
//
// POSIXLY_CORRECT is not honoured: slirp4netns callers do not set it.
type getopt struct {
	prog  string
	short string // optstring, e.g. "ce:r:m:a:6hv"
	long  []longOpt

	args       []string
	i          int    // index of the next argument to look at
	cluster    string // the rest of a short-option cluster being scanned
	positional []string
}

// next returns the next option. done is true when no option remains (the
// positional arguments are then in g.positional). A non-empty errMsg is
// what glibc prints to stderr for a malformed option; parsing must stop.
func (g *getopt) next() (ev optEvent, done bool, errMsg string) {
	if g.cluster != "" {
		return g.shortOpt()
	}
	for g.i < len(g.args) {
		a := g.args[g.i]
		g.i++
		switch {
		case a == "--":
			g.positional = append(g.positional, g.args[g.i:]...)
			g.i = len(g.args)
		case strings.HasPrefix(a, "--"):
			return g.longOpt(a[2:])
		case len(a) > 1 && a[0] == '-':
			g.cluster = a[1:]
			return g.shortOpt()
		default:
			g.positional = append(g.positional, a)
		}
	}
	return optEvent{}, true, ""
}

// shortOpt consumes one letter of the current cluster.
func (g *getopt) shortOpt() (optEvent, bool, string) {
	c := g.cluster[0]
	g.cluster = g.cluster[1:]
	idx := strings.IndexByte(g.short, c)
	if idx < 0 || c == ':' || c == ';' {
		g.cluster = ""
		return optEvent{}, false, fmt.Sprintf("%s: invalid option -- '%c'\n", g.prog, c)
	}
	ev := optEvent{key: string(c)}
	if idx+1 < len(g.short) && g.short[idx+1] == ':' {
		switch {
		case g.cluster != "":
			ev.arg = g.cluster
			g.cluster = ""
		case g.i < len(g.args):
			ev.arg = g.args[g.i]
			g.i++
		default:
			return optEvent{}, false, fmt.Sprintf("%s: option requires an argument -- '%c'\n", g.prog, c)
		}
	}
	return ev, false, ""
}

// longOpt handles "--" + body, body being "name" or "name=value".
func (g *getopt) longOpt(body string) (optEvent, bool, string) {
	name, value, hasValue := strings.Cut(body, "=")
	var found *longOpt
	var matches []*longOpt
	for i := range g.long {
		o := &g.long[i]
		if o.name == name {
			found = o
			matches = nil
			break
		}
		if strings.HasPrefix(o.name, name) {
			matches = append(matches, o)
		}
	}
	if found == nil {
		switch len(matches) {
		case 0:
			return optEvent{}, false, fmt.Sprintf("%s: unrecognized option '--%s'\n", g.prog, body)
		case 1:
			found = matches[0]
		default:
			var b strings.Builder
			fmt.Fprintf(&b, "%s: option '--%s' is ambiguous; possibilities:", g.prog, body)
			for _, m := range matches {
				fmt.Fprintf(&b, " '--%s'", m.name)
			}
			b.WriteByte('\n')
			return optEvent{}, false, b.String()
		}
	}
	ev := optEvent{key: found.key}
	switch found.kind {
	case noArg:
		if hasValue {
			return optEvent{}, false, fmt.Sprintf("%s: option '--%s' doesn't allow an argument\n", g.prog, found.name)
		}
	case requiredArg:
		switch {
		case hasValue:
			ev.arg = value
		case g.i < len(g.args):
			ev.arg = g.args[g.i]
			g.i++
		default:
			return optEvent{}, false, fmt.Sprintf("%s: option '--%s' requires an argument\n", g.prog, found.name)
		}
	}
	return ev, false, ""
}
