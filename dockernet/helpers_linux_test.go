package dockernet

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch"
)

// rig is a vswitchd in this process (real ports) with the driver served
// on a unix socket, and an HTTP client as dockerd would be.
type rig struct {
	t    *testing.T
	dir  string
	d    *daemon.Daemon
	drv  *Driver
	srv  *Server
	http *http.Client
	// log, if set, is the driver's logger.
	log *slog.Logger
}

func newRig(t *testing.T, dir string) *rig {
	t.Helper()
	nettest.NeedRoot(t)
	r := &rig{t: t, dir: dir}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) start() {
	t := r.t
	var err error
	r.d, err = daemon.New(daemon.Config{StateDir: r.dir, Switch: vswitch.Options{Workers: 1, Idle: pipeline.IdleSleep}})
	require.NoError(t, err)
	require.NoError(t, r.d.Start())
	r.drv, err = New(Config{Caller: RegistryCaller{R: r.d.Registry()}, StateDir: r.dir, Logger: r.log})
	require.NoError(t, err)
	r.srv, err = Serve(filepath.Join(r.dir, "docker.sock"), r.drv.Handler())
	require.NoError(t, err)
	path := r.srv.Path()
	r.http = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

func (r *rig) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.d.Close()
		r.srv = nil
	}
}

// restart stops the daemon and the driver and starts them again on the
// same state directory.
func (r *rig) restart() {
	r.stop()
	r.start()
}

// post sends one plugin call; it returns the status and the body.
func (r *rig) post(method string, body any) (int, []byte) {
	r.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		var err error
		b, err = json.Marshal(body)
		require.NoError(r.t, err)
	}
	resp, err := r.http.Post("http://plugin/"+method, contentType, bytes.NewReader(b))
	require.NoError(r.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp.StatusCode, out
}

// ok makes a call that must succeed and decodes its answer into out.
func (r *rig) ok(method string, body, out any) {
	r.t.Helper()
	st, b := r.post(method, body)
	require.Equal(r.t, http.StatusOK, st, "%s: %s", method, b)
	if out != nil {
		require.NoError(r.t, json.Unmarshal(b, out), "%s", b)
	}
}

// fails makes a call that must fail with status and an Err naming want.
func (r *rig) fails(method string, body any, status int, want string) {
	r.t.Helper()
	st, b := r.post(method, body)
	require.Equal(r.t, status, st, "%s: %s", method, b)
	var e errResponse
	require.NoError(r.t, json.Unmarshal(b, &e), "%s", b)
	require.Contains(r.t, e.Err, want)
}

// vs runs a vswitchd command.
func (r *rig) vs(cmd string, out any, args ...string) error {
	return RegistryCaller{R: r.d.Registry()}.Call(cmd, args, out)
}

// snapshot is what the bad-request tests compare: vswitchd's bridges,
// endpoints and pools, and the driver's stored state.
func (r *rig) snapshot() string {
	r.t.Helper()
	var brs, eps, pools any
	require.NoError(r.t, r.vs("list-br", &brs))
	require.NoError(r.t, r.vs("endpoint/show", &eps))
	require.NoError(r.t, r.vs("ipam/show", &pools))
	r.drv.mu.Lock()
	st, err := json.Marshal(r.drv.st)
	r.drv.mu.Unlock()
	require.NoError(r.t, err)
	b, err := json.Marshal([]any{brs, eps, pools, json.RawMessage(st)})
	require.NoError(r.t, err)
	return string(b)
}
