// Package portmap publishes endpoints' ports on the host, the two ways
// Docker does: kernel DNAT rules in an nftables table of switchyard's own
// (with masquerade into the network's host port, so replies come back the
// way they went), and a userspace proxy beside them (package proxy) for
// what DNAT does not catch. Either alone keeps a published port reachable.
package portmap
