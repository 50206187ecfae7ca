package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/api"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// Handler returns the control API's HTTP handler.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/networks", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, d.Networks())
	})
	mux.HandleFunc("POST /v1/networks", func(w http.ResponseWriter, r *http.Request) {
		var req api.NetworkCreate
		if decode(w, r, &req) {
			n, err := d.CreateNetwork(req)
			answer(w, http.StatusCreated, n, err)
		}
	})
	mux.HandleFunc("DELETE /v1/networks/{name}", func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, struct{}{}, d.RemoveNetwork(r.PathValue("name")))
	})
	mux.HandleFunc("POST /v1/networks/{name}/endpoints", func(w http.ResponseWriter, r *http.Request) {
		var req api.EndpointCreate
		if decode(w, r, &req) {
			ep, err := d.Attach(r.PathValue("name"), req)
			answer(w, http.StatusCreated, ep, err)
		}
	})
	mux.HandleFunc("DELETE /v1/networks/{name}/endpoints/{ep}", func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, struct{}{}, d.Detach(r.PathValue("name"), r.PathValue("ep")))
	})
	mux.HandleFunc("GET /v1/endpoints", func(w http.ResponseWriter, r *http.Request) {
		eps, err := d.Endpoints(r.URL.Query().Get("network"))
		if eps == nil {
			eps = []api.Endpoint{}
		}
		answer(w, http.StatusOK, eps, err)
	})
	mux.HandleFunc("GET /v1/networks/{name}/fdb", func(w http.ResponseWriter, r *http.Request) {
		fdb, err := d.FDB(r.PathValue("name"))
		if fdb == nil {
			fdb = []api.FDBEntry{}
		}
		answer(w, http.StatusOK, fdb, err)
	})
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, d.Stats())
	})
	mux.HandleFunc("POST /v1/capture", d.handleCapture)
	d.overlayRoutes(mux)
	mux.HandleFunc("POST /v1/networks/{name}/ports", func(w http.ResponseWriter, r *http.Request) {
		var req api.PublishRequest
		if decode(w, r, &req) {
			p, err := d.Publish(r.PathValue("name"), req)
			answer(w, http.StatusCreated, p, err)
		}
	})
	mux.HandleFunc("DELETE /v1/networks/{name}/ports", func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, struct{}{}, d.Unpublish(r.PathValue("name"), r.URL.Query().Get("spec")))
	})
	mux.HandleFunc("GET /v1/ports", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, d.Ports())
	})
	mux.HandleFunc("POST /v1/ports/repair", func(w http.ResponseWriter, r *http.Request) {
		msg, err := d.RepairRules()
		answer(w, http.StatusOK, api.Repair{Message: msg}, err)
	})
	mux.HandleFunc("GET /v1/conntrack", func(w http.ResponseWriter, r *http.Request) {
		ct, err := d.Conntrack(r.URL.Query().Get("network"))
		answer(w, http.StatusOK, ct, err)
	})
	return mux
}

// decode reads a JSON body strictly; on failure it answers 400 and
// returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		reply(w, http.StatusBadRequest, api.Error{Error: fmt.Sprintf("bad request body: %v", err)})
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		reply(w, http.StatusBadRequest, api.Error{Error: "bad request body: data after the JSON object"})
		return false
	}
	return true
}

func answer(w http.ResponseWriter, ok int, v any, err error) {
	switch {
	case err == nil:
		reply(w, ok, v)
	case exhausted(err) != "":
		// Checked first: running out is no conflict, whatever wraps it.
		reply(w, http.StatusServiceUnavailable, api.Error{Error: exhausted(err) + ": " + err.Error()})
	case errors.Is(err, ErrNotFound):
		reply(w, http.StatusNotFound, api.Error{Error: err.Error()})
	case errors.Is(err, ErrConflict):
		reply(w, http.StatusConflict, api.Error{Error: err.Error()})
	case errors.Is(err, ErrInvalid):
		reply(w, http.StatusBadRequest, api.Error{Error: err.Error()})
	case errors.Is(err, ErrUnavailable):
		reply(w, http.StatusServiceUnavailable, api.Error{Error: err.Error()})
	default:
		reply(w, http.StatusInternalServerError, api.Error{Error: err.Error()})
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Listen opens the control socket with mode 0600. An existing socket with
// a live daemon behind it is an error; a stale one is replaced.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another switchyard daemon is listening", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	}
	// Create the socket 0600 from the start: no window in which others
	// could connect. The umask is process-wide, so this runs at start-up.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket mode: %w", err)
	}
	return ln, nil
}

// Serve answers API requests on ln until ctx is done, then stops serving
// and detaches everything (TAPs disappear, addresses are freed).
func (d *Daemon) Serve(ctx context.Context, ln net.Listener) error {
	rl := newReserveListener(ln, d.cfg.Log)
	// The socket is ours now: what a crashed predecessor on it left is too.
	d.removeLeftoverRules()
	// Request contexts derive from ctx: shutting down ends running
	// captures (they send their closing counters) instead of waiting.
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(rl) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	d.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("control API: %w", err)
	}
	return nil
}
