// Package proxy will hold switchyard's TCP/UDP port proxy: the userspace
// path of a published port and the docker-proxy drop-in (issue 4). It is
// independent of the switch: it knows listeners, dialers and flows only.
package proxy
