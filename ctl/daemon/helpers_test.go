package daemon

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
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
