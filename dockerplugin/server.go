// Package dockerplugin serves Docker's legacy plugin protocol for
// switchyard: a libnetwork remote network driver and an IPAM driver, so
// `docker network create -d switchyard --ipam-driver switchyard` makes a
// switchyard network and `docker run --network` puts containers on it.
//
// Each Docker endpoint is a switchyard endpoint whose TAP the daemon
// creates without an address in a staging namespace of its own; Join
// moves the TAP into the daemon's namespace and hands its name to dockerd,
// which moves it on into the container's namespace (a TAP keeps working
// through the daemon's descriptor) and configures it.
package dockerplugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/ipam"
)

// DefaultDir is where dockerd looks for plugin sockets.
const DefaultDir = "/run/docker/plugins"

// SocketPath is the socket of plugin name in dir: dockerd finds the
// plugin by the name given to -d / --ipam-driver.
func SocketPath(dir, name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name[0] == '.' {
		return "", fmt.Errorf("docker plugin name %q: want a plain file name", name)
	}
	return filepath.Join(dir, name+".sock"), nil
}

// Daemon is what the plugin needs of the switchyard daemon;
// *daemon.Daemon is one.
type Daemon interface {
	CreateNetwork(req api.NetworkCreate) (api.Network, error)
	RemoveNetwork(name string) error
	Networks() []api.Network
	Attach(network string, req api.EndpointCreate) (api.Endpoint, error)
	Detach(network, name string) error
	Endpoints(network string) ([]api.Endpoint, error)
	Publish(network string, req api.PublishRequest) (api.Published, error)
	Unpublish(network, spec string) error
	AddressInUse(network string, a netip.Addr) (bool, error)
}

// DefaultStagingDir holds the endpoints' staging namespaces.
const DefaultStagingDir = "/run/switchyard/docker-netns"

// Config configures a Server.
type Config struct {
	// StagingDir holds one namespace per endpoint (DefaultStagingDir):
	// the daemon attaches the endpoint there (a network takes one
	// endpoint per namespace), and Join moves its TAP into this process's
	// namespace, where dockerd looks for it.
	StagingDir string
	Log        *slog.Logger
}

// Server answers dockerd's plugin calls.
type Server struct {
	d   Daemon
	cfg Config

	mu        sync.Mutex
	pools     map[string]*pool          // IPAM pools by PoolID
	published map[string][]publishedMap // by Docker endpoint ID
	nets      map[string]dockerNet      // by Docker network ID
}

// publishedMap is a port mapping published for an endpoint.
type publishedMap struct {
	network, spec string
}

// New returns a server driving d.
func New(d Daemon, cfg Config) *Server {
	if cfg.StagingDir == "" {
		cfg.StagingDir = DefaultStagingDir
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{d: d, cfg: cfg, pools: map[string]*pool{}, published: map[string][]publishedMap{},
		nets: map[string]dockerNet{}}
}

// pool is an IPAM pool: the subnet until dockerd asks for the gateway,
// then its addresses (switchyard's ipam rules: lowest free, reused).
type pool struct {
	prefix string
	addrs  *ipam.Pool
}

// contentType is the plugin protocol's media type.
const contentType = "application/vnd.docker.plugins.v1+json"

// maxBody bounds a request body.
const maxBody = 1 << 20

// Handler returns the plugin protocol's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", call(func(struct{}) (activateResponse, error) {
		return activateResponse{Implements: []string{"NetworkDriver", "IpamDriver"}}, nil
	}))
	s.networkRoutes(mux)
	s.ipamRoutes(mux)
	return mux
}

// call adapts a typed protocol method to an HTTP handler: the JSON body
// decodes into Req, a Resp is the 200 reply, an error a 500 with
// {"Err": ...}.
func call[Req, Resp any](fn func(Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
			err = fmt.Errorf("read request: %w", err)
		case len(body) > maxBody:
			err = errors.New("request body too large")
		case len(body) > 0:
			if jerr := json.Unmarshal(body, &req); jerr != nil {
				err = fmt.Errorf("decode request: %w", jerr)
			}
		}
		w.Header().Set("Content-Type", contentType)
		if err == nil {
			var resp Resp
			if resp, err = fn(req); err == nil {
				json.NewEncoder(w).Encode(resp)
				return
			}
		}
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(errorResponse{Err: err.Error()})
	}
}

// Serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.cfg.Log.Info("serving the Docker plugin protocol", "socket", ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("docker plugin: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-done
	if err != nil {
		return fmt.Errorf("docker plugin: %w", err)
	}
	return nil
}
