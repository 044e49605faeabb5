package dockernet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// contentType is the plugin protocol's media type.
const contentType = "application/vnd.docker.plugins.v1.2+json"

// maxBody bounds a request body: Docker's are a few hundred bytes.
const maxBody = 1 << 20

// Handler serves the plugin protocol: /Plugin.Activate, the NetworkDriver
// and IpamDriver methods. Unknown methods get 404 (libnetwork reads that
// as "not implemented"), errors {"Err": ...}.
func (d *Driver) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, fn func(body []byte) (any, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil || len(body) > maxBody {
				reply(w, http.StatusBadRequest, errResponse{Err: "request body unreadable or larger than 1 MiB"})
				return
			}
			res, err := fn(body)
			var bad *badRequest
			switch {
			case errors.As(err, &bad):
				reply(w, http.StatusBadRequest, errResponse{Err: err.Error()})
			case err != nil:
				d.log.Info("docker request refused", "method", path, "err", err)
				reply(w, http.StatusInternalServerError, errResponse{Err: err.Error()})
			default:
				reply(w, http.StatusOK, res)
			}
		})
	}
	handle("/Plugin.Activate", func([]byte) (any, error) {
		return activateResponse{Implements: []string{"NetworkDriver", "IpamDriver"}}, nil
	})
	handle("/NetworkDriver.GetCapabilities", func([]byte) (any, error) {
		return capabilitiesResponse{Scope: d.scope(), ConnectivityScope: d.scope()}, nil
	})
	handle("/IpamDriver.GetCapabilities", func([]byte) (any, error) {
		return ipamCapabilitiesResponse{}, nil
	})
	handle("/IpamDriver.GetDefaultAddressSpaces", func([]byte) (any, error) {
		return addressSpacesResponse{LocalDefaultAddressSpace: LocalAddressSpace, GlobalDefaultAddressSpace: GlobalAddressSpace}, nil
	})
	handle("/NetworkDriver.CreateNetwork", locked(d, d.createNetwork))
	handle("/NetworkDriver.DeleteNetwork", locked(d, d.deleteNetwork))
	handle("/NetworkDriver.CreateEndpoint", locked(d, d.createEndpoint))
	handle("/NetworkDriver.DeleteEndpoint", locked(d, d.deleteEndpoint))
	handle("/NetworkDriver.EndpointOperInfo", locked(d, d.endpointOperInfo))
	handle("/NetworkDriver.Join", locked(d, d.join))
	handle("/NetworkDriver.Leave", locked(d, d.leave))
	handle("/NetworkDriver.ProgramExternalConnectivity", locked(d, d.programExternalConnectivity))
	handle("/NetworkDriver.RevokeExternalConnectivity", locked(d, d.revokeExternalConnectivity))
	ok := func([]byte) (any, error) { return struct{}{}, nil }
	handle("/NetworkDriver.DiscoverNew", ok)
	handle("/NetworkDriver.DiscoverDelete", ok)
	handle("/IpamDriver.RequestPool", locked(d, d.requestPool))
	handle("/IpamDriver.ReleasePool", locked(d, d.releasePool))
	handle("/IpamDriver.RequestAddress", locked(d, d.requestAddress))
	handle("/IpamDriver.ReleaseAddress", locked(d, d.releaseAddress))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, errResponse{Err: fmt.Sprintf("%s %s: not a method of the vecswitch driver", r.Method, r.URL.Path)})
	})
	return mux
}

// badRequest is a body that does not decode.
type badRequest struct{ err error }

func (e *badRequest) Error() string { return "malformed request: " + e.err.Error() }

// locked decodes a request of type T and runs fn under the driver's lock.
func locked[T any](d *Driver, fn func(*T) (any, error)) func([]byte) (any, error) {
	return func(body []byte) (any, error) {
		req := new(T)
		if err := json.Unmarshal(body, req); err != nil {
			return nil, &badRequest{err}
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		return fn(req)
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Server serves a Driver on a unix socket.
type Server struct {
	path string
	ln   net.Listener
	srv  *http.Server
	done chan error
}

// Serve listens on the unix socket path (dockerd finds it by itself in
// /run/docker/plugins/NAME.sock, or through a spec file in
// /etc/docker/plugins naming it) and serves h. A stale socket file is
// replaced; a socket someone answers on is not.
func Serve(path string, h http.Handler) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("dockernet: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("dockernet: %s: another plugin serves on it", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("dockernet: %s exists and is not a socket", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("dockernet: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("dockernet: %w", err)
	}
	s := &Server{path: path, ln: ln, done: make(chan error, 1),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	os.Remove(s.path)
	return err
}
