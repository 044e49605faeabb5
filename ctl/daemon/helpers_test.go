package daemon

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// newTestDaemon starts an in-process daemon (one worker, no fast path) on
// stateDir and stops it when the test ends.
func newTestDaemon(t *testing.T, stateDir string) *Daemon {
	t.Helper()
	d, err := New(Config{StateDir: stateDir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.NoError(t, d.Start())
	t.Cleanup(func() { d.Close() })
	return d
}

// run calls one command through the daemon's registry.
func run(t *testing.T, d *Daemon, cmd string, args ...string) ctl.Response {
	t.Helper()
	return d.Registry().Dispatch(context.Background(), &ctl.Request{V: ctl.Version, Cmd: cmd, Args: args})
}

// requireCode asserts that r failed with code.
func requireCode(t *testing.T, r ctl.Response, code ctl.Code, msgAndArgs ...any) {
	t.Helper()
	require.False(t, r.OK, msgAndArgs...)
	require.NotNil(t, r.Error, msgAndArgs...)
	require.Equal(t, code, r.Error.Code, "%s", r.Error.Message)
}

// decode decodes r's result into v.
func decode(t *testing.T, r ctl.Response, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Result, v), "%s", r.Result)
}

// newMemPortDaemon is a one-worker daemon over dir whose ports are
// memory ports: made by mk, or plain ones if mk is nil. The caller closes
// it.
func newMemPortDaemon(t testing.TB, dir string, mk func(PortSpec) (ports.Port, error)) *Daemon {
	t.Helper()
	if mk == nil {
		mk = func(spec PortSpec) (ports.Port, error) { return memport.New(memport.Config{Name: spec.Name}) }
	}
	d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, memPorts: mk})
	require.NoError(t, err)
	return d
}
