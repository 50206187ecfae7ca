// Command switchyard is Docker-style container networking in userspace: a
// daemon (`switchyard up`) running one learning switch per network with TAP
// ports inside network namespaces, and the client commands that drive it.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/rootless"
)

const usage = `switchyard: container networking in userspace

Usage:
  switchyard up [--config FILE] [--socket PATH] [--subnet CIDR] [--gateway IP] [--metrics-addr HOST:PORT] [--docker-plugin] [--cluster-store etcd://H:P[,H:P] --cluster-advertise IP] [flags]
  switchyard network create NAME --subnet CIDR [--subnet CIDR6 | --ipv6] [--gateway IP]... [--vlan ID] [--mtu N] [--allow-host-loopback]
  switchyard network create NAME --driver overlay --subnet CIDR [--vni N] [--vxlan-port 4789] [--peer IP]...
  switchyard network ls
  switchyard network rm NAME
  switchyard attach NETWORK NETNS [--name NAME] [--alias NAME]... [--ip IP] [--ip6 IP6] [--mac MAC] [--ifname eth0] [--mtu N] [--dhcp] [--no-port-security] [--no-resolv-conf]
  switchyard detach NETWORK NAME
  switchyard endpoints [NETWORK]
  switchyard fdb NETWORK
  switchyard hosts
  switchyard stats
  switchyard conntrack [NETWORK]
  switchyard publish NETWORK [HOSTIP:]HOSTPORT[-END]:ENDPOINT:PORT[-END][/tcp|/udp] [--path both|kernel|userspace]
  switchyard unpublish NETWORK HOSTPORT[/tcp|/udp] | SPEC
  switchyard ports
  switchyard capture [NETWORK] [--port NAME]... [-w FILE] [-f FILTER] [-c COUNT] [--duration D] [--snaplen N]
  switchyard docker-proxy -proto tcp|udp -host-ip IP -host-port N -container-ip IP -container-port N [-use-listen-fd]
  switchyard run [-p [HOSTIP:]HOSTPORT:PORT[/udp]]... [--mtu N] [--disable-host-loopback] [--pcap FILE] -- CMD [ARGS]
  switchyard slirp4netns [OPTION]... PID|PATH [TAPNAME]   (slirp4netns drop-in; see --help)
  switchyard bench switch [--out DIR] [--duration 5s] [--mtu 1500,9000]
  switchyard bench nat [--out DIR] [--duration 5s] [--mtu 1500,65520]
  switchyard bench capture|proxy|rootless [--out DIR] [--duration 5s]   (see bench --help)

NETNS is a path (/var/run/netns/X), a name under /var/run/netns, or pid:N.
Client commands take --socket PATH (default $SWITCHYARD_SOCKET or
` + api.DefaultSocket + `) and --json for machine-readable output.
  switchyard version | --version
  switchyard help [COMMAND]
  switchyard completion bash|zsh|fish

Global flags, before the command: --socket PATH, --json, --version, --help.
Run 'switchyard COMMAND --help' or 'switchyard help COMMAND' for a
command's flags.
`

func main() {
	// Invoked through a symlink named docker-proxy (dockerd's
	// --userland-proxy-path) or slirp4netns (RootlessKit, Podman): behave
	// as that program.
	// Exec'd by a container runtime as a CNI plugin.
	if os.Getenv("CNI_COMMAND") != "" {
		os.Exit(cniMain(os.Stdout, os.Stderr))
	}
	switch filepath.Base(os.Args[0]) {
	case "docker-proxy":
		os.Exit(dockerProxyMain(os.Args[1:], os.Stdout, os.Stderr))
	case "slirp4netns":
		os.Exit(slirp4netnsMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit status: 0 success,
// 1 failure, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	args, err := takeGlobals(args)
	if err != nil {
		return exitStatus(err, stderr)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "up":
		err = cmdUp(rest, log)
	case "network":
		err = cmdNetwork(rest, stdout)
	case "attach":
		err = cmdAttach(rest, stdout)
	case "detach":
		err = cmdDetach(rest, stdout)
	case "endpoints":
		err = cmdEndpoints(rest, stdout)
	case "fdb":
		err = cmdFDB(rest, stdout)
	case "hosts":
		err = cmdHosts(rest, stdout)
	case "stats":
		err = cmdStats(rest, stdout)
	case "conntrack":
		err = cmdConntrack(rest, stdout)
	case "capture":
		err = cmdCapture(rest, stdout, stderr)
	case "publish":
		err = cmdPublish(rest, stdout)
	case "unpublish":
		err = cmdUnpublish(rest, stdout)
	case "ports":
		err = cmdPorts(rest, stdout)
	case "bench":
		return benchMain(rest, log)
	case "docker-proxy":
		return dockerProxyMain(rest, stdout, stderr)
	case "slirp4netns":
		return slirp4netnsMain(rest, stdout, stderr)
	case "run":
		return cmdRun(rest, stderr)
	case rootless.RunChildCommand:
		return runChildMain(rest, stderr)
	case nsjoinChildCommand:
		return nsjoinChildMain(rest)
	case rootless.SandboxCommand:
		return sandboxMain(rest, stderr)
	case "help":
		return cmdHelp(rest, stdout, stderr)
	case "version":
		printVersion(stdout)
		return 0
	case "completion":
		err = cmdCompletion(rest, stdout)
	default:
		fmt.Fprintln(stderr, unknownCommand(cmd))
		return 2
	}
	return exitStatus(err, stderr)
}

// usageError marks a bad command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func exitStatus(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "switchyard: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// clientFlags are the flags every client command shares.
type clientFlags struct {
	socket string
	json   bool
}

func (c *clientFlags) register(fs *pflag.FlagSet) {
	def := globals.socket
	if def == "" {
		def = os.Getenv("SWITCHYARD_SOCKET")
	}
	if def == "" {
		def = api.DefaultSocket
	}
	fs.StringVar(&c.socket, "socket", def, "daemon control socket ($SWITCHYARD_SOCKET)")
	fs.BoolVar(&c.json, "json", globals.json, "print JSON")
}

func (c *clientFlags) client() *api.Client { return api.NewClient(c.socket) }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	// Errors are reported once, on one line, by exitStatus; --help output
	// goes to stdout from parse.
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args and checks the number of positional arguments.
func parse(fs *pflag.FlagSet, args []string, min, max int, what string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(os.Stdout, "Usage: switchyard %s\n\nFlags:\n%s", what, fs.FlagUsages())
			return nil, err
		}
		return nil, usagef("%s: %v", fs.Name(), err)
	}
	pos := fs.Args()
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, usagef("usage: switchyard %s", what)
	}
	return pos, nil
}
