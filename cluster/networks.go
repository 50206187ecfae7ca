package cluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxTxnTries bounds the retries of a transaction that lost a race.
const maxTxnTries = 16

// CreateNetwork stores a new overlay network. A VNI of 0 is allocated from
// FirstVNI up, the lowest free one; a given VNI must be free. Name and VNI
// are claimed in one transaction, so two hosts creating at once never get
// the same VNI. Every host's Handler then hears NetworkAdded.
func (s *Store) CreateNetwork(n Network) (Network, error) {
	if n.VNI > MaxVNI {
		return Network{}, fmt.Errorf("%w: VNI %d out of range [1, %d]", ErrInvalid, n.VNI, MaxVNI)
	}
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return Network{}, fmt.Errorf("%w: subnet %q: %w", ErrInvalid, n.Subnet, err)
	}
	n.CreatedBy = s.cfg.Host
	ctx, cancel := s.op()
	defer cancel()
	for range maxTxnTries {
		r, err := s.cli.Get(ctx, s.key("networks")+"/", clientv3.WithPrefix())
		if err != nil {
			return Network{}, s.storeErr("create network", err)
		}
		used := map[uint32]bool{}
		for _, kv := range r.Kvs {
			var o Network
			if json.Unmarshal(kv.Value, &o) != nil {
				continue
			}
			if o.Name == n.Name {
				return Network{}, fmt.Errorf("%w: network %q already exists in the cluster", ErrConflict, n.Name)
			}
			if p, err := netip.ParsePrefix(o.Subnet); err == nil && p.Overlaps(subnet) {
				return Network{}, fmt.Errorf("%w: subnet %s overlaps cluster network %q (%s)", ErrConflict, subnet, o.Name, o.Subnet)
			}
			used[o.VNI] = true
		}
		want := n
		if want.VNI == 0 {
			want.VNI = FirstVNI
			for used[want.VNI] {
				want.VNI++
			}
			if want.VNI > MaxVNI {
				return Network{}, fmt.Errorf("%w: no free VNI", ErrConflict)
			}
		} else if used[want.VNI] {
			return Network{}, fmt.Errorf("%w: VNI %d is used by another cluster network", ErrConflict, want.VNI)
		}
		rec, _ := json.Marshal(want)
		nk, vk := s.key("networks", want.Name), s.key("vnis", strconv.FormatUint(uint64(want.VNI), 10))
		t, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Version(nk), "=", 0), clientv3.Compare(clientv3.Version(vk), "=", 0)).
			Then(clientv3.OpPut(nk, string(rec)), clientv3.OpPut(vk, want.Name)).Commit()
		if err != nil {
			return Network{}, s.storeErr("create network", err)
		}
		if t.Succeeded {
			return want, nil
		}
	}
	return Network{}, fmt.Errorf("%w: network %q: too many concurrent changes, try again", ErrConflict, n.Name)
}

// RemoveNetwork deletes a network, its VNI and its address records, in
// one transaction that fails while any host has an endpoint on it.
func (s *Store) RemoveNetwork(name string) error {
	ctx, cancel := s.op()
	defer cancel()
	nk := s.key("networks", name)
	r, err := s.cli.Get(ctx, nk)
	if err != nil {
		return s.storeErr("remove network", err)
	}
	if len(r.Kvs) == 0 {
		return fmt.Errorf("%w: cluster network %q", ErrNotFound, name)
	}
	var n Network
	if err := json.Unmarshal(r.Kvs[0].Value, &n); err != nil {
		return fmt.Errorf("cluster network %q: bad record: %w", name, err)
	}
	epPrefix := s.key("endpoints", name) + "/"
	t, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(nk), "=", r.Kvs[0].ModRevision),
			clientv3.Compare(clientv3.CreateRevision(epPrefix), "=", 0).WithPrefix()).
		Then(clientv3.OpDelete(nk), clientv3.OpDelete(s.key("vnis", strconv.FormatUint(uint64(n.VNI), 10))),
			clientv3.OpDelete(s.key("ipam", name)+"/", clientv3.WithPrefix())).Commit()
	if err != nil {
		return s.storeErr("remove network", err)
	}
	if t.Succeeded {
		return nil
	}
	hosts := s.hostsWithEndpoints(name)
	return fmt.Errorf("%w: network %q has endpoints on hosts %s", ErrInUse, name, strings.Join(hosts, ", "))
}

// hostsWithEndpoints names the hosts with records on a network.
func (s *Store) hostsWithEndpoints(network string) []string {
	seen := map[string]bool{}
	ctx, cancel := s.op()
	defer cancel()
	if r, err := s.cli.Get(ctx, s.key("endpoints", network)+"/", clientv3.WithPrefix()); err == nil {
		for _, kv := range r.Kvs {
			var e Endpoint
			if json.Unmarshal(kv.Value, &e) == nil {
				seen[e.Host] = true
			}
		}
	}
	var out []string
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// Networks lists the cluster's networks as last seen, sorted by name.
func (s *Store) Networks() []Network {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Network, 0, len(s.view.networks))
	for _, n := range s.view.networks {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
