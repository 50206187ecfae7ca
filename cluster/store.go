package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Config describes a host's membership. Zero fields take defaults.
type Config struct {
	// Store is the cluster store URL, etcd://HOST:PORT[,HOST:PORT...].
	Store string
	// Host names this host in the cluster; empty means the advertise
	// address.
	Host string
	// Advertise is the underlay address other hosts send VXLAN to.
	Advertise netip.Addr
	// TTL is the membership lease's TTL (DefaultTTL, at most MaxTTL).
	TTL time.Duration
	// Prefix is the key prefix (DefaultPrefix).
	Prefix string
	// OpTimeout bounds each store operation (3 s).
	OpTimeout time.Duration
	// Handler is told about changes; nil ignores them.
	Handler Handler
	// Log receives membership and watch events; nil discards them.
	Log *slog.Logger
}

func (c *Config) setDefaults() error {
	if !c.Advertise.IsValid() {
		return fmt.Errorf("%w: --cluster-advertise IP is required with a cluster store", ErrInvalid)
	}
	c.Advertise = c.Advertise.Unmap()
	if !c.Advertise.Is4() || c.Advertise.IsUnspecified() {
		return fmt.Errorf("%w: cluster advertise address %s: an IPv4 unicast address is required", ErrInvalid, c.Advertise)
	}
	if c.Host == "" {
		c.Host = c.Advertise.String()
	}
	if strings.ContainsAny(c.Host, "/ ") {
		return fmt.Errorf("%w: cluster host name %q", ErrInvalid, c.Host)
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.TTL < MinTTL || c.TTL > MaxTTL {
		return fmt.Errorf("%w: cluster TTL %s out of range [%s, %s]", ErrInvalid, c.TTL, MinTTL, MaxTTL)
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 3 * time.Second
	}
	if c.Handler == nil {
		c.Handler = nopHandler{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

type nopHandler struct{}

func (nopHandler) NetworkAdded(Network)    {}
func (nopHandler) NetworkRemoved(string)   {}
func (nopHandler) EndpointsChanged(string) {}
func (nopHandler) Rejoined()               {}

// Store is this host's membership and its view of the cluster.
type Store struct {
	cfg    Config
	cli    *clientv3.Client
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	lease clientv3.LeaseID
	view  view
	// retry holds withdrawals that failed (etcd out of reach), by key,
	// retried every second until they succeed or the key is written anew.
	retry map[string]func() error
}

// Open connects to etcd, registers this host and starts following the
// cluster. The Handler hears about every network and endpoint listed.
func Open(cfg Config) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	eps, err := ParseStore(cfg.Store)
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: cfg.OpTimeout, Logger: zap.NewNop(),
		DialKeepAliveTime: 2 * time.Second, DialKeepAliveTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(reconnect)}})
	if err != nil {
		return nil, fmt.Errorf("cluster store %s: %w: %w", cfg.Store, ErrUnavailable, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{cfg: cfg, cli: cli, ctx: ctx, cancel: cancel, retry: map[string]func() error{}}
	ka, err := s.register()
	if err != nil {
		cancel()
		cli.Close()
		return nil, err
	}
	rev, err := s.relist()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.wg.Add(3)
	go s.keepAlive(ka)
	go s.watch(rev)
	go s.retryLoop()
	cfg.Log.Info("joined cluster", "store", cfg.Store, "host", cfg.Host, "advertise", cfg.Advertise, "lease", int64(s.lease))
	return s, nil
}

// op returns a context for one store operation.
func (s *Store) op() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.cfg.OpTimeout)
}

// storeErr wraps an etcd failure with the store's name.
func (s *Store) storeErr(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: cluster store %s: %w: no answer within %s", what, s.cfg.Store, ErrUnavailable, s.cfg.OpTimeout)
	}
	return fmt.Errorf("%s: cluster store %s: %w: %w", what, s.cfg.Store, ErrUnavailable, err)
}

// key joins the prefix and parts.
func (s *Store) key(parts ...string) string { return s.cfg.Prefix + strings.Join(parts, "/") }

// Name returns this host's name in the cluster.
func (s *Store) Name() string { return s.cfg.Host }

// Advertise returns this host's VTEP address.
func (s *Store) Advertise() netip.Addr { return s.cfg.Advertise }

// Lease returns the current membership lease ID (the host's generation).
func (s *Store) Lease() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(s.lease)
}

// register revokes the lease of this host's previous incarnation, if its
// record is still there (every old record goes in that one revision), then
// writes the host record under a new lease and starts keeping it alive.
func (s *Store) register() (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	ctx, cancel := s.op()
	defer cancel()
	hk := s.key("hosts", s.cfg.Host)
	if r, err := s.cli.Get(ctx, hk); err != nil {
		return nil, s.storeErr("register", err)
	} else if len(r.Kvs) == 1 && r.Kvs[0].Lease != 0 {
		if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(r.Kvs[0].Lease)); err != nil && !isLeaseNotFound(err) {
			return nil, s.storeErr("revoke previous lease", err)
		}
		s.cfg.Log.Info("replaced this host's previous records", "lease", r.Kvs[0].Lease)
	}
	g, err := s.cli.Grant(ctx, int64(s.cfg.TTL/time.Second))
	if err != nil {
		return nil, s.storeErr("grant lease", err)
	}
	rec, _ := json.Marshal(Host{Name: s.cfg.Host, Advertise: s.cfg.Advertise.String(), Lease: int64(g.ID), Started: time.Now().UTC()})
	if _, err := s.cli.Put(ctx, hk, string(rec), clientv3.WithLease(g.ID)); err != nil {
		return nil, s.storeErr("register", err)
	}
	ka, err := s.cli.KeepAlive(s.ctx, g.ID)
	if err != nil {
		return nil, s.storeErr("keep-alive", err)
	}
	s.mu.Lock()
	s.lease = g.ID
	s.mu.Unlock()
	return ka, nil
}

func isLeaseNotFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), "requested lease not found")
}

// keepAlive drains keep-alive answers; when the channel closes while the
// store is open, the lease is lost (etcd was out of reach for longer than
// the TTL) and the host registers again, retrying until it succeeds.
func (s *Store) keepAlive(ka <-chan *clientv3.LeaseKeepAliveResponse) {
	defer s.wg.Done()
	for {
		for range ka {
		}
		if s.ctx.Err() != nil {
			return
		}
		s.cfg.Log.Warn("cluster keep-alive lost, trying to keep the lease", "store", s.cfg.Store)
		back := 200 * time.Millisecond
		for {
			// etcd restores leases with a fresh TTL when it restarts: keep
			// ours while etcd still has it; register anew only once etcd
			// says it is gone (registering while etcd is merely out of
			// reach would replace records the lease still covers).
			var gone bool
			if ka, gone = s.resume(); ka != nil {
				break
			}
			if gone {
				var err error
				if ka, err = s.register(); err == nil {
					s.cfg.Log.Info("registered again", "lease", s.Lease())
					s.cfg.Handler.Rejoined()
					break
				}
				s.cfg.Log.Warn("cluster registration failed", "err", err)
			}
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(back):
			}
			back = min(back*2, time.Second)
		}
	}
}

// resume keeps the current lease alive again when etcd still has it (etcd
// restarted within the TTL: it restores leases with a fresh TTL), so no
// record changes. A nil channel with gone set means etcd answered that the
// lease no longer exists; without gone, etcd did not answer.
func (s *Store) resume() (ka <-chan *clientv3.LeaseKeepAliveResponse, gone bool) {
	ctx, cancel := s.op()
	defer cancel()
	l := clientv3.LeaseID(s.Lease())
	if _, err := s.cli.KeepAliveOnce(ctx, l); err != nil {
		return nil, errors.Is(err, rpctypes.ErrLeaseNotFound) || isLeaseNotFound(err)
	}
	ka, err := s.cli.KeepAlive(s.ctx, l)
	if err != nil {
		return nil, false
	}
	s.cfg.Log.Info("cluster lease kept", "lease", int64(l))
	return ka, false
}

// Close leaves the cluster: the lease is revoked, so this host's endpoint
// and address records vanish at once, and the client is closed.
func (s *Store) Close() {
	ctx, cancel := s.op()
	if l := clientv3.LeaseID(s.Lease()); l != 0 {
		if _, err := s.cli.Revoke(ctx, l); err != nil {
			s.cfg.Log.Warn("cluster lease not revoked; records expire with the TTL", "err", err)
		}
	}
	cancel()
	s.abandon()
}

// abandon stops following the cluster without revoking the lease, as a
// crashed host would (tests use it).
func (s *Store) abandon() {
	s.cancel()
	s.cli.Close()
	s.wg.Wait()
}

// reconnect is how the client dials etcd again after losing it: gRPC's
// default back-off grows to two minutes, so a store back after a short
// outage went unnoticed (watch, keep-alive, retried withdrawals) for tens
// of seconds. Here the gap stays at most one second.
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
	MinConnectTimeout: 2 * time.Second,
}
