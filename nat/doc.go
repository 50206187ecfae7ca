// Package nat is switchyard's userspace outbound NAT: TCP and UDP flows that
// endpoints open to outside addresses are terminated in the gateway's gVisor
// netstack (promiscuous, spoofing) and re-originated from host sockets, so
// the outside sees the host's address (SNAT/masquerade). A TCP SYN is
// answered only once the host-side connection succeeded (RST otherwise);
// half-closes are propagated. UDP flows live in a bounded table with an idle
// timeout. Every flow is listed in a bounded connection-tracking table with
// counters for what was refused.
package nat
