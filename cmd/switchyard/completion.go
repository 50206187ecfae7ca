package main

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// cmdCompletion prints a shell completion script for bash, zsh or fish:
// the commands, network's subcommands, and each command's flags as the
// usage text lists them (one source, so completion cannot drift from it).
func cmdCompletion(args []string, out io.Writer) error {
	if len(args) != 1 {
		return usagef("usage: switchyard completion bash|zsh|fish")
	}
	switch args[0] {
	case "bash":
		return writeBash(out)
	case "zsh":
		// zsh runs bash completion functions through bashcompinit.
		fmt.Fprint(out, "#compdef switchyard\nautoload -U +X bashcompinit && bashcompinit\n")
		return writeBash(out)
	case "fish":
		return writeFish(out)
	case "-h", "--help":
		fmt.Fprint(out, "Usage: switchyard completion bash|zsh|fish\n\n"+
			"Prints a completion script: source <(switchyard completion bash), or save it where the shell loads completions.\n")
		return nil
	}
	return usagef("completion: unknown shell %q (bash, zsh, fish)", args[0])
}

var flagRE = regexp.MustCompile(`--[a-z][a-z0-9-]*`)

// commandFlags returns the long flags the usage text gives cmd, sorted.
func commandFlags(cmd string) []string {
	seen := map[string]bool{"--help": true}
	for _, f := range flagRE.FindAllString(commandUsage(cmd), -1) {
		seen[f] = true
	}
	if cmd != "docker-proxy" && cmd != "slirp4netns" && cmd != "run" && cmd != "bench" {
		seen["--socket"], seen["--json"] = true, true
	}
	var fs []string
	for f := range seen {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return fs
}

func writeBash(out io.Writer) error {
	var b strings.Builder
	b.WriteString("# bash completion for switchyard (switchyard completion bash)\n_switchyard() {\n")
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n")
	b.WriteString("\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n")
	fmt.Fprintf(&b, "\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\")); return\n\tfi\n", strings.Join(commands, " ")+" --socket --json --version --help")
	b.WriteString("\tcase $cmd in\n")
	b.WriteString("\tnetwork) [ \"$COMP_CWORD\" -eq 2 ] && { COMPREPLY=($(compgen -W \"create ls rm\" -- \"$cur\")); return; } ;;\n")
	b.WriteString("\thelp) COMPREPLY=($(compgen -W \"" + strings.Join(commands, " ") + "\" -- \"$cur\")); return ;;\n")
	b.WriteString("\tcompletion) COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\")); return ;;\n\tesac\n")
	b.WriteString("\tcase $cmd in\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", c, strings.Join(commandFlags(c), " "))
	}
	b.WriteString("\tesac\n}\ncomplete -o default -F _switchyard switchyard\n")
	_, err := io.WriteString(out, b.String())
	return err
}

func writeFish(out io.Writer) error {
	var b strings.Builder
	b.WriteString("# fish completion for switchyard (switchyard completion fish)\n")
	b.WriteString("complete -c switchyard -f\n")
	fmt.Fprintf(&b, "complete -c switchyard -n __fish_use_subcommand -a %q\n", strings.Join(commands, " "))
	b.WriteString("complete -c switchyard -n '__fish_seen_subcommand_from network' -a 'create ls rm'\n")
	b.WriteString("complete -c switchyard -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	for _, c := range commands {
		for _, f := range commandFlags(c) {
			fmt.Fprintf(&b, "complete -c switchyard -n '__fish_seen_subcommand_from %s' -l %s\n", c, strings.TrimPrefix(f, "--"))
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}
