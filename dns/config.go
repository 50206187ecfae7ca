// Package dns is a network gateway's embedded DNS server, in the manner of
// Docker's 127.0.0.11: it answers the names and aliases of the network's
// endpoints from a record set the gateway keeps up to date, and forwards
// every other query to the host's upstream resolvers.
//
// The server does not open sockets itself; the gateway hands it a
// net.PacketConn (ServeUDP) and a net.Listener (ServeTCP), typically gVisor
// gonet types bound to the gateway address, port 53.
package dns

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Defaults for the zero values of Config's fields.
const (
	DefaultTimeout        = 2 * time.Second
	DefaultTTL            = 60
	DefaultMaxForwards    = 256
	DefaultMaxTCPConns    = 64
	DefaultTCPIdleTimeout = 10 * time.Second
)

// Record is one endpoint: its name and aliases resolve to its addresses (A
// for IPv4, AAAA for IPv6), and PTR queries for the addresses answer the
// name. Several records may share a name or alias; their addresses are
// merged.
type Record struct {
	// Name is the endpoint's name, e.g. the container name.
	Name string
	// Aliases are further names resolving to Addrs (not used for PTR).
	Aliases []string
	// Addrs are the endpoint's addresses on the network.
	Addrs []netip.Addr
}

// Config configures a Server; the zero value of a field means its default.
type Config struct {
	// Domain is the network's domain, e.g. the network name: record names
	// also resolve as "name.<Domain>", names under it that are not in the
	// record set get an authoritative NXDOMAIN, and PTR answers are
	// "name.<Domain>.". Empty means no domain.
	Domain string
	// ResolveNames enables answering from the record set. When false (like
	// Docker's default bridge network) every query is forwarded.
	ResolveNames bool
	// Upstreams are the resolvers ("ip:port"; a bare IP means port 53)
	// queried in order for names not answered locally. Empty means none:
	// such queries get SERVFAIL.
	Upstreams []string
	// Timeout bounds the exchange with one upstream, including the TCP
	// retry of a truncated answer (DefaultTimeout). A query whose upstreams
	// all time out gets SERVFAIL after len(Upstreams)*Timeout.
	Timeout time.Duration
	// TTL is the TTL of local answers, in seconds (DefaultTTL).
	TTL uint32
	// MaxForwards caps the queries being forwarded at once; queries over
	// the cap get SERVFAIL immediately (DefaultMaxForwards).
	MaxForwards int
	// MaxTCPConns caps concurrent TCP connections (DefaultMaxTCPConns):
	// a further one closes the connection idle the longest, or is closed
	// at once when every connection is busy with a query.
	MaxTCPConns int
	// TCPIdleTimeout is how long a TCP connection may take to send a
	// complete query before it is closed (DefaultTCPIdleTimeout).
	TCPIdleTimeout time.Duration
	// Log receives the server's logs; nil discards them. Per-query events
	// are logged at debug level only.
	Log *slog.Logger
}

// withDefaults returns cfg with its zero fields set to their defaults and
// its domain and upstreams normalised.
func (cfg Config) withDefaults() Config {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxForwards <= 0 {
		cfg.MaxForwards = DefaultMaxForwards
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	cfg.Domain = strings.ToLower(strings.Trim(cfg.Domain, "."))
	var ups []string
	for _, u := range cfg.Upstreams {
		n, err := normaliseUpstream(u)
		if err != nil {
			cfg.Log.Warn("dns: ignoring upstream", "upstream", u, "err", err)
			continue
		}
		ups = append(ups, n)
	}
	cfg.Upstreams = ups
	return cfg
}

// normaliseUpstream returns u as "ip:port", adding port 53 to a bare IP.
func normaliseUpstream(u string) (string, error) {
	if ap, err := netip.ParseAddrPort(u); err == nil {
		if ap.Port() == 0 {
			return "", &net.AddrError{Err: "port 0", Addr: u}
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(u, "[]"))
	if err != nil {
		return "", &net.AddrError{Err: "not an ip:port or ip", Addr: u}
	}
	return netip.AddrPortFrom(a.Unmap(), 53).String(), nil
}
