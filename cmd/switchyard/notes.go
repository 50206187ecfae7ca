package main

import (
	"fmt"
	"io"
	"strings"
)

// icmpNotes gathers the networks whose gateway cannot forward ICMP echo,
// by reason, so that each reason (which carries its fix) is printed once
// below a table instead of in every row.
type icmpNotes struct {
	reasons []string            // in first-seen order
	nets    map[string][]string // reason → networks
}

// add records that network's gateway gives reason ("" for none).
func (n *icmpNotes) add(network, reason string) {
	if reason == "" {
		return
	}
	if n.nets == nil {
		n.nets = map[string][]string{}
	}
	if _, ok := n.nets[reason]; !ok {
		n.reasons = append(n.reasons, reason)
	}
	n.nets[reason] = append(n.nets[reason], network)
}

// print writes one paragraph per reason, after a blank line.
func (n *icmpNotes) print(w io.Writer) {
	for _, r := range n.reasons {
		fmt.Fprintf(w, "\nICMP echo is not forwarded (network %s): %s\n", strings.Join(n.nets[r], ", "), r)
	}
}
