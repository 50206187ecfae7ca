package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/capture"
	"github.com/switchyard/switchyard/capture/filter"
	vswitch "github.com/switchyard/switchyard/switch"
)

// statsEvery is how often a capture stream carries the counters so far.
const statsEvery = time.Second

// hub returns the capture hub of a switch; d.mu must be held.
func (d *Daemon) hub(sw *vswitch.Switch, name string) *capture.Hub {
	if d.hubs == nil {
		d.hubs = map[*vswitch.Switch]*capture.Hub{}
	}
	h, ok := d.hubs[sw]
	if !ok {
		h = capture.NewHub(sw, name)
		d.hubs[sw] = h
	}
	return h
}

// captureSetup validates a request and registers its session.
type captureSetup struct {
	hub   *capture.Hub
	s     *capture.Session
	ports []vswitch.PortInfo
	net   string
}

func (d *Daemon) startCapture(req api.CaptureRequest) (*captureSetup, error) {
	if req.Network == "" {
		req.Network = "default"
	}
	if req.Snaplen < 0 || req.Snaplen > capture.MaxCaptureLen || req.Count < 0 || req.Duration < 0 {
		return nil, fmt.Errorf("%w: snaplen must be 0-%d, count and duration not negative", ErrInvalid, capture.MaxCaptureLen)
	}
	f, err := filter.Compile(req.Filter)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var m capture.Matcher
	if req.Filter != "" {
		m = f
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(req.Network)
	if err != nil {
		return nil, err
	}
	sel, ports, err := n.selectPorts(req.Ports)
	if err != nil {
		return nil, err
	}
	// Every port: each frame once, where it entered. Chosen ports: both
	// directions of them, or the frames they receive would be missing.
	both := req.Both || len(req.Ports) > 0
	s := capture.NewSession(capture.Config{Filter: m, Snaplen: req.Snaplen, Both: both})
	h := d.hub(n.sw, hubName(n))
	h.Add(s, sel)
	return &captureSetup{hub: h, s: s, ports: ports, net: hubName(n)}, nil
}

// hubName names a switch's records: the network, or "vlans" for the
// switch VLAN networks share.
func hubName(n *network) string {
	if n.vlan != 0 {
		return "vlans"
	}
	return n.name
}

// selectPorts maps port names to IDs; no names means the network's ports
// (every port of its own switch, the network's ports on the VLAN switch).
func (n *network) selectPorts(names []string) (map[vswitch.PortID]bool, []vswitch.PortInfo, error) {
	var ports []vswitch.PortInfo
	for _, p := range n.sw.Ports() {
		if p.VLAN == n.portVLAN() {
			ports = append(ports, p)
		}
	}
	if len(names) == 0 {
		if n.vlan == 0 {
			return nil, ports, nil
		}
		sel := map[vswitch.PortID]bool{}
		for _, p := range ports {
			sel[p.ID] = true
		}
		return sel, ports, nil
	}
	sel := map[vswitch.PortID]bool{}
	var picked []vswitch.PortInfo
	for _, name := range names {
		found := false
		for _, p := range ports {
			if p.Name == name {
				sel[p.ID], found = true, true
				picked = append(picked, p)
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("%w: network %q has no port %q", ErrNotFound, n.name, name)
		}
	}
	return sel, picked, nil
}

// serveCapture streams a capture to w until the count, the duration, or
// the client going away.
func (d *Daemon) serveCapture(ctx context.Context, w io.Writer, flush func(), cs *captureSetup, req api.CaptureRequest) {
	defer func() {
		cs.hub.Remove(cs.s)
		cs.s.Close()
	}()
	if req.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Duration)
		defer cancel()
	}
	sw := capture.NewStreamWriter(w)
	for _, p := range cs.ports {
		sw.WritePort(cs.net, p.Name)
	}
	sw.Flush()
	flush()
	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	frames := 0
	for req.Count == 0 || frames < req.Count {
		r, ok := cs.s.Next(ctx.Done())
		if !ok {
			break
		}
		err := sw.WriteFrame(r.Network, r.Port, r.Dir, r.Time, r.OrigLen, r.Data())
		cs.s.Release(r)
		if err != nil {
			return
		}
		frames++
		select {
		case <-tick.C:
			c, dr := cs.s.Stats()
			sw.WriteStats(c, dr)
			sw.Flush()
			flush()
		default:
		}
		if cs.s.Pending() == 0 {
			sw.Flush()
			flush()
		}
	}
	c, dr := cs.s.Stats()
	sw.WriteEnd(min(c, uint64(frames)), dr)
	flush()
}

// handleCapture is POST /v1/capture.
func (d *Daemon) handleCapture(w http.ResponseWriter, r *http.Request) {
	var req api.CaptureRequest
	if !decode(w, r, &req) {
		return
	}
	cs, err := d.startCapture(req)
	if err != nil {
		answer(w, http.StatusOK, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.switchyard.capture")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	d.serveCapture(r.Context(), w, func() { rc.Flush() }, cs, req)
}
