package cluster

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// view is the part of the store a host follows: members, networks and
// endpoint records, keyed by their path under the prefix.
type view struct {
	hosts     map[string]Host
	networks  map[string]Network
	endpoints map[string]Endpoint
}

func newView() view {
	return view{hosts: map[string]Host{}, networks: map[string]Network{}, endpoints: map[string]Endpoint{}}
}

func (v view) clone() view {
	c := newView()
	for k, x := range v.hosts {
		c.hosts[k] = x
	}
	for k, x := range v.networks {
		c.networks[k] = x
	}
	for k, x := range v.endpoints {
		c.endpoints[k] = x
	}
	return c
}

// apply records a put (value non-nil) or delete of the key at path (the
// key without the prefix). Records that do not decode are ignored.
func (v view) apply(path string, typ mvccpb.Event_EventType, value []byte) {
	kind, rest, _ := strings.Cut(path, "/")
	del := typ == mvccpb.DELETE
	switch kind {
	case "hosts":
		var h Host
		if del || json.Unmarshal(value, &h) != nil {
			delete(v.hosts, rest)
			return
		}
		v.hosts[rest] = h
	case "networks":
		var n Network
		if del || json.Unmarshal(value, &n) != nil {
			delete(v.networks, rest)
			return
		}
		v.networks[rest] = n
	case "endpoints":
		var e Endpoint
		if del || json.Unmarshal(value, &e) != nil {
			delete(v.endpoints, rest)
			return
		}
		v.endpoints[rest] = e
	}
}

// visible returns a network's endpoints whose host is a member under the
// lease the record was written with: records of a previous incarnation
// or of a host whose registration is gone are never shown.
func (v view) visible(network string) []Endpoint {
	var out []Endpoint
	for _, e := range v.endpoints {
		if e.Network != network {
			continue
		}
		if h, ok := v.hosts[e.Host]; !ok || h.Lease != e.Lease {
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// diff tells h how next differs from v.
func (v view) diff(next view, h Handler) {
	for name, n := range next.networks {
		if o, ok := v.networks[name]; !ok || o.VNI != n.VNI || o.Subnet != n.Subnet {
			if ok {
				h.NetworkRemoved(name)
			}
			h.NetworkAdded(n)
		}
	}
	for name := range v.networks {
		if _, ok := next.networks[name]; !ok {
			h.NetworkRemoved(name)
		}
	}
	nets := map[string]bool{}
	for _, e := range v.endpoints {
		nets[e.Network] = true
	}
	for _, e := range next.endpoints {
		nets[e.Network] = true
	}
	for name := range nets {
		if !slices.EqualFunc(v.visible(name), next.visible(name), sameEndpoint) {
			h.EndpointsChanged(name)
		}
	}
}

func sameEndpoint(a, b Endpoint) bool {
	return a.Name == b.Name && a.Host == b.Host && a.MAC == b.MAC && a.IP == b.IP && a.VTEP == b.VTEP &&
		a.Lease == b.Lease && slices.Equal(a.Aliases, b.Aliases)
}
