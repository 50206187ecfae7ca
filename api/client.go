package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// Client talks to a daemon over its unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the daemon listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// StatusError is a request the daemon refused: its HTTP status and the
// message of its error reply.
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return e.Msg }

// IsNotFound reports whether err is the daemon's answer that the network,
// endpoint or mapping asked for does not exist.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// ErrNotRunning is wrapped by every error caused by no daemon listening.
var ErrNotRunning = errors.New("switchyard daemon is not running")

// ErrSocketPermission is wrapped by the error of a client that may not
// open the control socket (mode 0600, owned by root).
var ErrSocketPermission = errors.New("the control socket is root-only")

// dialError explains a failed request: no daemon, or a socket the caller
// may not open; other errors keep their cause.
func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w at %s (start it with `switchyard up`)", ErrNotRunning, c.socket)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("permission denied on %s: %w", c.socket, ErrSocketPermission)
	}
	return fmt.Errorf("talk to daemon at %s: %w", c.socket, err)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://switchyard"+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e Error
		msg := fmt.Sprintf("daemon answered %s", resp.Status)
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &StatusError{Status: resp.StatusCode, Msg: msg}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode reply: %w", err)
		}
	}
	return nil
}

// CreateNetwork creates a network.
func (c *Client) CreateNetwork(ctx context.Context, req NetworkCreate) (Network, error) {
	var n Network
	return n, c.do(ctx, http.MethodPost, "/v1/networks", req, &n)
}

// Networks lists networks.
func (c *Client) Networks(ctx context.Context) ([]Network, error) {
	var ns []Network
	return ns, c.do(ctx, http.MethodGet, "/v1/networks", nil, &ns)
}

// RemoveNetwork removes a network without endpoints.
func (c *Client) RemoveNetwork(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/networks/"+url.PathEscape(name), nil, nil)
}

// Attach connects a namespace to a network.
func (c *Client) Attach(ctx context.Context, network string, req EndpointCreate) (Endpoint, error) {
	var e Endpoint
	return e, c.do(ctx, http.MethodPost, "/v1/networks/"+url.PathEscape(network)+"/endpoints", req, &e)
}

// Detach removes an endpoint from a network.
func (c *Client) Detach(ctx context.Context, network, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/networks/"+url.PathEscape(network)+"/endpoints/"+url.PathEscape(name), nil, nil)
}

// Endpoints lists endpoints, of one network when network is not empty.
func (c *Client) Endpoints(ctx context.Context, network string) ([]Endpoint, error) {
	var es []Endpoint
	p := "/v1/endpoints"
	if network != "" {
		p += "?network=" + url.QueryEscape(network)
	}
	return es, c.do(ctx, http.MethodGet, p, nil, &es)
}

// FDB lists a network's forwarding table.
func (c *Client) FDB(ctx context.Context, network string) ([]FDBEntry, error) {
	var es []FDBEntry
	return es, c.do(ctx, http.MethodGet, "/v1/networks/"+url.PathEscape(network)+"/fdb", nil, &es)
}

// Hosts lists the cluster's members.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	var hs []Host
	return hs, c.do(ctx, http.MethodGet, "/v1/hosts", nil, &hs)
}

// Stats returns every network's counters.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	return s, c.do(ctx, http.MethodGet, "/v1/stats", nil, &s)
}

// Conntrack lists NAT flows, of one network when network is not empty.
func (c *Client) Conntrack(ctx context.Context, network string) ([]Conntrack, error) {
	var ct []Conntrack
	p := "/v1/conntrack"
	if network != "" {
		p += "?network=" + url.QueryEscape(network)
	}
	return ct, c.do(ctx, http.MethodGet, p, nil, &ct)
}

// Capture starts a capture; the caller reads the stream from the returned
// body and closes it (closing early stops the capture). ctx cancels it.
func (c *Client) Capture(ctx context.Context, req CaptureRequest) (io.ReadCloser, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://switchyard/v1/capture", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	hc := *c.hc
	hc.Timeout = 0 // a capture runs as long as it runs
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, c.dialError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e Error
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("daemon answered %s", resp.Status)
	}
	return resp.Body, nil
}

// Publish publishes ports of an endpoint on the host.
func (c *Client) Publish(ctx context.Context, network string, req PublishRequest) (Published, error) {
	var p Published
	return p, c.do(ctx, http.MethodPost, "/v1/networks/"+url.PathEscape(network)+"/ports", req, &p)
}

// Unpublish removes a published port mapping.
func (c *Client) Unpublish(ctx context.Context, network, spec string) error {
	return c.do(ctx, http.MethodDelete, "/v1/networks/"+url.PathEscape(network)+"/ports?spec="+url.QueryEscape(spec), nil, nil)
}

// Ports lists published ports.
func (c *Client) Ports(ctx context.Context) ([]Published, error) {
	var ps []Published
	return ps, c.do(ctx, http.MethodGet, "/v1/ports", nil, &ps)
}

// RepairPorts makes the daemon re-create its nftables table with every
// live kernel-path mapping when the table is missing or damaged.
func (c *Client) RepairPorts(ctx context.Context) (Repair, error) {
	var r Repair
	return r, c.do(ctx, http.MethodPost, "/v1/ports/repair", struct{}{}, &r)
}
