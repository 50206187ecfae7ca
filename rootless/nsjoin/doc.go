// Package nsjoin gives a rootless networking helper (a slirp4netns drop-in)
// a TAP device and sockets inside another user's user and network
// namespaces.
//
// A multi-threaded Go process cannot setns(2) into a user namespace, so Join
// re-executes the running binary through nsenter(1) (util-linux):
//
//	nsenter --net=/proc/self/fd/5 [--user=/proc/self/fd/6 --preserve-credentials] \
//	    -- /proc/self/fd/4 __nsjoin-child [flags]
//
// The namespace files are opened by the parent and inherited (in PID mode
// from /proc/PID/ns, pinned by a pidfd, so a recycled PID cannot redirect the
// helper), and so is the executable (an O_PATH descriptor of /proc/self/exe:
// it works when the binary was replaced on disk or lives in a directory the
// helper's credentials cannot search). The child, single-threaded at exec and
// so already inside the namespaces when the Go runtime starts, opens
// /dev/net/tun there (TUNSETIFF IFF_TAP|IFF_NO_PI, with IFF_VNET_HDR and
// TUNSETOFFLOAD when asked and available), optionally configures the
// interface the way `slirp4netns --configure` does, and sends the descriptor
// back over a SOCK_SEQPACKET socket pair (SCM_RIGHTS).
//
// The child then stays as the parent's agent inside the namespaces: it
// dials TCP and UDP connections there on request (port forwards that bypass
// the TAP) and returns the connected sockets the same way. It exits when the
// parent closes its end of the socket (Agent.Close, or the parent dying).
//
// A binary that calls Join must dispatch the hidden subcommand ChildCommand
// to ChildMain before doing anything else, e.g. in main:
//
//	case nsjoin.ChildCommand: return nsjoin.ChildMain(args[1:])
package nsjoin
