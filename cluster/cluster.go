// Package cluster keeps switchyard's cluster state in etcd, as Docker's
// --cluster-store and flannel did: which hosts are up, the overlay networks
// and their VNIs, every endpoint's address, MAC and VTEP, and cluster-wide
// address allocation.
//
// Each host registers under hosts/<name> with a lease of at most 10 s that
// it keeps alive; its endpoint and address records are bound to the same
// lease, so when a host dies they all vanish together when the lease
// expires. A host that starts again revokes its previous lease (deleting
// every old record in one revision) before registering anew, and every
// record carries the lease it was written under: a reader never mixes two
// incarnations of one host. Networks and VNIs are persistent objects
// created and removed with transactions; a Store follows all of it with one
// watch, resumed from the last revision and re-listed when compacted, and
// tells its Handler what changed.
package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Limits and defaults.
const (
	// DefaultTTL is the host lease's TTL; MaxTTL bounds it so a dead host
	// is gone within seconds (flannel's 24 h leases are the failure mode).
	DefaultTTL = 10 * time.Second
	MinTTL     = time.Second
	MaxTTL     = 10 * time.Second
	// FirstVNI is where automatic VNI allocation starts, as in Docker.
	FirstVNI = 4096
	// MaxVNI is the largest 24-bit VNI.
	MaxVNI = 1<<24 - 1
	// DefaultPrefix is the key prefix of everything switchyard stores.
	DefaultPrefix = "/switchyard/v1/"
)

// Errors callers can test for with errors.Is.
var (
	// ErrConflict: the name, VNI or address is taken.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: no such network.
	ErrNotFound = errors.New("not found")
	// ErrInUse: the network still has endpoints on some host.
	ErrInUse = errors.New("in use")
	// ErrUnavailable: the store cannot be reached.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalid: a bad argument.
	ErrInvalid = errors.New("invalid")
)

// ParseStore parses a cluster store URL, etcd://HOST:PORT[,HOST:PORT...],
// into etcd client endpoints.
func ParseStore(url string) ([]string, error) {
	rest, ok := strings.CutPrefix(url, "etcd://")
	if !ok {
		return nil, fmt.Errorf("%w: cluster store %q: only etcd://HOST:PORT[,HOST:PORT...] is supported", ErrInvalid, url)
	}
	var eps []string
	for _, hp := range strings.Split(rest, ",") {
		if ap, err := netip.ParseAddrPort(hp); (err != nil || ap.Port() == 0) && !validHostPort(hp) {
			return nil, fmt.Errorf("%w: cluster store %q: bad HOST:PORT %q", ErrInvalid, url, hp)
		}
		eps = append(eps, "http://"+hp)
	}
	return eps, nil
}

// validHostPort accepts NAME:PORT with a DNS-like name and a decimal port.
func validHostPort(s string) bool {
	host, port, ok := strings.Cut(s, ":")
	if !ok || host == "" || port == "" || len(port) > 5 || strings.ContainsAny(host, "/@ ") {
		return false
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && n < 65536
}

// Host is a member's registration record (hosts/<name>).
type Host struct {
	Name      string    `json:"name"`
	Advertise string    `json:"advertise"`
	Lease     int64     `json:"lease"`
	Started   time.Time `json:"started"`
}

// Network is an overlay network (networks/<name>), created once for the
// whole cluster.
type Network struct {
	Name      string   `json:"name"`
	Subnet    string   `json:"subnet"`
	Gateway   string   `json:"gateway,omitempty"`
	VNI       uint32   `json:"vni"`
	VXLANPort int      `json:"vxlan_port"`
	Peers     []string `json:"peers,omitempty"`
	MTU       int      `json:"mtu,omitempty"`
	// CreatedBy names the host that created it.
	CreatedBy string `json:"created_by,omitempty"`
}

// Endpoint is one endpoint of an overlay network on one host
// (endpoints/<network>/<host>/<name>), bound to the host's lease.
type Endpoint struct {
	Network string   `json:"network"`
	Name    string   `json:"name"`
	Host    string   `json:"host"`
	MAC     string   `json:"mac"`
	IP      string   `json:"ip"`
	VTEP    string   `json:"vtep"`
	Aliases []string `json:"aliases,omitempty"`
	Lease   int64    `json:"lease"`
}

// addrRecord is an allocated address (ipam/<network>/<ip>), bound to the
// lease of the host that holds it.
type addrRecord struct {
	Host     string `json:"host"`
	Endpoint string `json:"endpoint"`
	Lease    int64  `json:"lease"`
}

// HostStatus is a member as `switchyard hosts` shows it.
type HostStatus struct {
	Host
	// TTL is the lease's remaining time to live; LastKeepAlive is derived
	// from it (the lease was refreshed TTL-remaining ago).
	TTL           time.Duration `json:"ttl_ns"`
	LastKeepAlive time.Time     `json:"last_keepalive"`
}

// Handler is told about changes seen in the store. Calls come one at a
// time from the store's watch goroutine and must not call back into
// Store methods that wait for it (all Store methods are safe).
type Handler interface {
	// NetworkAdded reports a network that appeared (or was listed).
	NetworkAdded(Network)
	// NetworkRemoved reports a network that was removed.
	NetworkRemoved(name string)
	// EndpointsChanged reports that the endpoints of a network changed;
	// Store.Endpoints gives the new list.
	EndpointsChanged(network string)
	// Rejoined reports that the host lost its lease (the store was out of
	// reach for longer than the TTL) and registered again: its endpoint
	// and address records must be written again.
	Rejoined()
}
