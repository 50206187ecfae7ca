package cluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/switchyard/switchyard/ipam"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// AllocateIP claims an address of a network for one of this host's
// endpoints: want when valid (a reservation, which must be free or already
// this endpoint's), else the lowest free address. The claim is a
// transaction on the address's key, bound to this host's lease: no address
// is ever handed out twice, and a dead host's addresses return to the pool
// when its lease expires.
func (s *Store) AllocateIP(network string, subnet netip.Prefix, gateway, want netip.Addr, endpoint string) (netip.Addr, error) {
	ctx, cancel := s.op()
	defer cancel()
	lease := clientv3.LeaseID(s.Lease())
	prefix := s.key("ipam", network) + "/"
	for range maxTxnTries {
		r, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return netip.Addr{}, s.storeErr("allocate address", err)
		}
		pool, err := ipam.New(subnet, gateway)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, kv := range r.Kvs {
			a, err := netip.ParseAddr(strings.TrimPrefix(string(kv.Key), prefix))
			if err != nil {
				continue
			}
			var rec addrRecord
			if a == want && json.Unmarshal(kv.Value, &rec) == nil && rec.Host == s.cfg.Host && rec.Endpoint == endpoint && rec.Lease == int64(lease) {
				return a, nil
			}
			_ = pool.Reserve(a)
		}
		a := want
		if a.IsValid() {
			if err := pool.Reserve(a); err != nil {
				return netip.Addr{}, fmt.Errorf("%w: address %s on network %q: %w", ErrConflict, a, network, err)
			}
		} else if a, err = pool.Allocate(); err != nil {
			return netip.Addr{}, fmt.Errorf("%w: network %q: %w", ErrConflict, network, err)
		}
		rec, _ := json.Marshal(addrRecord{Host: s.cfg.Host, Endpoint: endpoint, Lease: int64(lease)})
		k := prefix + a.String()
		t, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(k), "=", 0)).
			Then(clientv3.OpPut(k, string(rec), clientv3.WithLease(lease))).Commit()
		if err != nil {
			return netip.Addr{}, s.storeErr("allocate address", err)
		}
		if t.Succeeded {
			s.forget(k)
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: network %q: too many concurrent allocations, try again", ErrConflict, network)
}

// ReleaseIP frees an address this host holds. When etcd cannot be reached
// it is retried in the background until it succeeds.
func (s *Store) ReleaseIP(network string, a netip.Addr) error {
	return s.withdraw(s.key("ipam", network, a.String()), func() error { return s.releaseIP(network, a) })
}

func (s *Store) releaseIP(network string, a netip.Addr) error {
	ctx, cancel := s.op()
	defer cancel()
	k := s.key("ipam", network, a.String())
	r, err := s.cli.Get(ctx, k)
	if err != nil {
		return s.storeErr("release address", err)
	}
	if len(r.Kvs) == 0 {
		return nil
	}
	var rec addrRecord
	if json.Unmarshal(r.Kvs[0].Value, &rec) == nil && rec.Host != s.cfg.Host {
		return nil
	}
	_, err = s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k), "=", r.Kvs[0].ModRevision)).
		Then(clientv3.OpDelete(k)).Commit()
	if err != nil {
		return s.storeErr("release address", err)
	}
	return nil
}

// PutEndpoint publishes one of this host's endpoints under its lease; Host,
// VTEP and Lease are filled in.
func (s *Store) PutEndpoint(e Endpoint) error {
	e.Host, e.VTEP, e.Lease = s.cfg.Host, s.cfg.Advertise.String(), s.Lease()
	rec, _ := json.Marshal(e)
	ctx, cancel := s.op()
	defer cancel()
	k := s.key("endpoints", e.Network, e.Host, e.Name)
	s.forget(k)
	if _, err := s.cli.Put(ctx, k, string(rec), clientv3.WithLease(clientv3.LeaseID(e.Lease))); err != nil {
		return s.storeErr("publish endpoint", err)
	}
	return nil
}

// DeleteEndpoint withdraws one of this host's endpoints. When etcd cannot
// be reached it is retried in the background until it succeeds, so the
// record does not outlive the endpoint for as long as the lease lives.
func (s *Store) DeleteEndpoint(network, name string) error {
	k := s.key("endpoints", network, s.cfg.Host, name)
	return s.withdraw(k, func() error {
		ctx, cancel := s.op()
		defer cancel()
		if _, err := s.cli.Delete(ctx, k); err != nil {
			return s.storeErr("withdraw endpoint", err)
		}
		return nil
	})
}

// withdraw runs a deletion of key, queueing it for retry when it fails.
func (s *Store) withdraw(key string, del func() error) error {
	err := del()
	if err != nil {
		s.mu.Lock()
		s.retry[key] = del
		s.mu.Unlock()
	}
	return err
}

// forget drops a queued withdrawal of key: the key is being written anew.
func (s *Store) forget(key string) {
	s.mu.Lock()
	delete(s.retry, key)
	s.mu.Unlock()
}

// retryLoop retries failed withdrawals every second.
func (s *Store) retryLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		pending := make(map[string]func() error, len(s.retry))
		for k, f := range s.retry {
			pending[k] = f
		}
		s.mu.Unlock()
		for k, f := range pending {
			if f() == nil {
				s.mu.Lock()
				delete(s.retry, k)
				s.mu.Unlock()
				s.cfg.Log.Info("withdrawal retried", "key", k)
			}
		}
	}
}

// Endpoints lists a network's endpoints on every host as last seen (only
// records of live hosts' current incarnations).
func (s *Store) Endpoints(network string) []Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view.visible(network)
}

// Hosts lists the members with their leases' remaining TTL.
func (s *Store) Hosts() ([]HostStatus, error) {
	ctx, cancel := s.op()
	defer cancel()
	r, err := s.cli.Get(ctx, s.key("hosts")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, s.storeErr("list hosts", err)
	}
	now := time.Now()
	var out []HostStatus
	for _, kv := range r.Kvs {
		var h Host
		if json.Unmarshal(kv.Value, &h) != nil {
			continue
		}
		st := HostStatus{Host: h}
		if ttl, err := s.cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease)); err == nil && ttl.TTL > 0 {
			st.TTL = time.Duration(ttl.TTL) * time.Second
			st.LastKeepAlive = now.Add(st.TTL - time.Duration(ttl.GrantedTTL)*time.Second).UTC()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
