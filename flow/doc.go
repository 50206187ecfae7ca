// Package flow is switchyard's one flow engine, shared by the NAT (nat),
// the port proxy (proxy) and the DNS server (dns): the TCP relay, the UDP
// flow table, connection tracking and the accept/read back-off.
//
// Relay copies a TCP connection both ways: splice(2) through pooled pipes
// when both ends are host sockets, pooled buffers otherwise; half-closes
// are passed on (CloseWrite) and a reset is passed on as a reset. Memory
// is held by need: a direction waiting for input holds no buffer and no
// pipe when its source can wait without one (host sockets through their
// raw descriptors, netstack connections through [ReadWaiter]); otherwise
// it holds a small buffer and takes a large pooled one only while data
// keeps coming. Buffers and pipes go back to their pools when a burst or
// a flow ends.
//
// Table is a bounded table of UDP flows with idle expiry on an injected
// [Clock] and counters of flows created, refused (table full) and
// expired. [Reader] reads datagrams or stream chunks into pooled buffers
// shared by every flow, so an idle flow holds none.
//
// When many flows have ended, the memory they used is handed back to the
// kernel (see reclaim.go) instead of waiting for the runtime's periodic
// collection and slow scavenger.
//
// Tracker remembers the connections and listeners an owner must close
// when it stops; Backoff paces retries after failed accepts and reads.
//
// The package knows nothing of switches, networks or gateways.
package flow
