package cluster

import (
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// relist reads everything under the prefix, replaces the view, tells the
// handler the differences and returns the revision read.
func (s *Store) relist() (int64, error) {
	ctx, cancel := s.op()
	defer cancel()
	r, err := s.cli.Get(ctx, s.cfg.Prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, s.storeErr("list", err)
	}
	next := newView()
	for _, kv := range r.Kvs {
		next.apply(strings.TrimPrefix(string(kv.Key), s.cfg.Prefix), 0, kv.Value)
	}
	s.replace(next)
	return r.Header.Revision, nil
}

// replace installs next as the view and reports the differences.
func (s *Store) replace(next view) {
	s.mu.Lock()
	old := s.view
	s.view = next
	s.mu.Unlock()
	if old.hosts == nil {
		old = newView()
	}
	old.diff(next, s.cfg.Handler)
}

// watch follows the prefix from rev+1. A compacted revision or a broken
// watch leads to a full re-list, then the watch resumes from there.
func (s *Store) watch(rev int64) {
	defer s.wg.Done()
	back := 200 * time.Millisecond
	for s.ctx.Err() == nil {
		wch := s.cli.Watch(clientv3.WithRequireLeader(s.ctx), s.cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if resp.CompactRevision != 0 || errors.Is(err, rpctypes.ErrCompacted) {
					s.cfg.Log.Info("cluster watch compacted, listing again", "revision", rev)
				} else {
					s.cfg.Log.Warn("cluster watch failed", "err", err)
				}
				break
			}
			s.mu.Lock()
			next := s.view.clone()
			s.mu.Unlock()
			for _, ev := range resp.Events {
				next.apply(strings.TrimPrefix(string(ev.Kv.Key), s.cfg.Prefix), ev.Type, ev.Kv.Value)
			}
			s.replace(next)
			rev = resp.Header.Revision
			back = 200 * time.Millisecond
		}
		for s.ctx.Err() == nil {
			r, err := s.relist()
			if err == nil {
				rev = r
				break
			}
			select {
			case <-s.ctx.Done():
			case <-time.After(back):
			}
			back = min(back*2, 2*time.Second)
		}
	}
}
