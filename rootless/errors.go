package rootless

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel causes carried by *ExitError; test them with errors.Is.
var (
	// ErrHelp means -h/--help was given: print ExitError.Stdout (the help
	// text, after any warnings) and exit 0.
	ErrHelp = errors.New("rootless: help requested")
	// ErrVersion means -v/--version was given: print ExitError.Stdout and
	// exit 0.
	ErrVersion = errors.New("rootless: version requested")
	// ErrUsage means the command line was rejected the way slirp4netns
	// rejects it.
	ErrUsage = errors.New("rootless: invalid command line")
	// ErrUnsupported means a valid slirp4netns command line asks for
	// something switchyard does not implement (--target-type=bess).
	ErrUnsupported = errors.New("rootless: unsupported option")
)

// ExitError tells the command what slirp4netns would do instead of
// running: write Stdout to standard output, Stderr to standard error (both
// byte for byte, either may be empty), and exit with Code. The package
// never prints or exits itself.
type ExitError struct {
	// Code is the exit status: 0 for help and version, 1 otherwise.
	Code int
	// Stdout is what slirp4netns prints to standard output (warnings,
	// then the usage text for command-line errors).
	Stdout string
	// Stderr is what slirp4netns prints to standard error. Some messages
	// have no trailing newline, as in the original.
	Stderr string
	// Err is the cause: ErrHelp, ErrVersion, ErrUsage or ErrUnsupported.
	Err error
}

// Error returns the cause and the stderr message on one line.
func (e *ExitError) Error() string {
	msg := strings.Join(strings.Fields(e.Stderr), " ")
	if msg == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v: %s", e.Err, msg)
}

// Unwrap returns the cause, so errors.Is(err, ErrHelp) works.
func (e *ExitError) Unwrap() error { return e.Err }
