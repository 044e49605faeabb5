package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// crashNil dereferences a nil pointer, as a handler with a bug does.
func crashNil(p *struct{ x int }) int { return p.x }

// A handler's panic is answered as internal and logged with its stack,
// which names the function that panicked.
func TestDispatchLogsPanicWithStack(t *testing.T) {
	var buf bytes.Buffer
	r := NewRegistry()
	r.SetLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	r.Register(Command{Name: "nilcrash", MaxArgs: -1,
		Run: func(context.Context, []string) (any, error) { return crashNil(nil), nil }})
	resp := r.Dispatch(context.Background(), &Request{V: Version, Cmd: "nilcrash", Args: []string{"a"}})
	require.False(t, resp.OK)
	require.Equal(t, CodeInternal, resp.Error.Code)
	require.Contains(t, resp.Error.Message, "nil pointer dereference")
	out := buf.String()
	require.Contains(t, out, "level=ERROR")
	require.Contains(t, out, `msg="control command panicked"`)
	require.Contains(t, out, "cmd=nilcrash")
	require.Contains(t, out, "nil pointer dereference")
	require.Contains(t, out, "ctl.crashNil", "the stack names the function that panicked")
	require.Contains(t, out, "registry_panic_test.go")
}
