// Package proxy is switchyard's userspace port proxy: the userspace path of
// a published port, and the engine of the docker-proxy drop-in
// (`switchyard docker-proxy`).
//
// One [Proxy] serves any number of mappings (single ports or port ranges,
// TCP or UDP), each added and removed at run time. A mapping listens on a
// host address, or takes over an already-bound listener or packet socket,
// and relays to a backend address through a [Dialer]: the host kernel by
// default ([HostDialer]), or anything else, e.g. a network's netstack,
// which may use the client's address as the source so the backend sees the
// real client.
//
// TCP: each connection relayed by the flow engine (flow.Relay: splice(2)
// through pooled pipes when both ends are host sockets, no buffer held
// while a direction waits, half-closes and resets passed on), with a dial
// timeout and TCP keepalive. An accept error (EMFILE, ENFILE, ENOBUFS, ...) never
// stops a mapping: it is counted and the accept loop backs off
// exponentially (capped at about 1 s) and carries on. A backend that
// refuses shows the client an accepted connection that is closed at once,
// as docker-proxy does.
//
// UDP: a flow table (flow.Table) keyed by the client's address, one
// connected backend socket per flow read into shared buffers, an idle
// timeout (90 s by default) on an injectable clock, and a cap on flows
// with counters of the datagrams it refused and the flows that expired. On a wildcard listener
// (0.0.0.0 or ::) replies leave from the address the client sent to
// (IP_PKTINFO / IPV6_PKTINFO).
//
// The package knows nothing of the switch: listeners, dialers and flows
// only. Every mapping has counters (see [Stats]).
package proxy
