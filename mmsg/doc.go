// Package mmsg is switchyard's batched socket I/O: many datagrams or
// frames per sendmmsg(2)/recvmmsg(2) call on a non-blocking socket that
// sits in Go's poller. The uplink (AF_PACKET) and vxlan (UDP) ports both
// use it; a Batch, a Sender and a Receiver are allocated once and reused,
// so steady-state sends and receives allocate nothing.
//
// A Sender never waits for the socket: when the send buffer is full the
// rest of the batch is dropped and counted, and a message the kernel
// refuses is skipped and counted, so a port built on it can promise
// port.Info.NonBlocking.
//
// The package is Linux-only; on other systems it is empty.
package mmsg
