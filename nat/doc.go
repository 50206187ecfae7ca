// Package nat will hold switchyard's outbound NAT: TCP and UDP flows from
// endpoints terminated in the gateway netstack and re-originated from host
// sockets, with a bounded connection-tracking table (issue 3).
package nat
