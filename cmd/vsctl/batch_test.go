package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestBatch: commands joined by -- and the lines of --batch FILE go to
// the daemon as one batch request; the failing command is named by its
// line; a command that cannot be batched is refused before anything is
// sent.
func TestBatch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control server admits root only; run as root")
	}
	var got [][]ctl.BatchCommand
	reg := ctl.NewRegistry()
	for _, s := range ctl.Specs {
		reg.Register(ctl.Command{Name: s.Name, Usage: s.Usage, MinArgs: s.MinArgs, MaxArgs: s.MaxArgs, Batch: s.Batch,
			Run: func(context.Context, []string) (any, error) { return nil, nil }})
	}
	reg.SetBatch(func(_ context.Context, cmds []ctl.BatchCommand) ([]any, error) {
		got = append(got, cmds)
		for i, c := range cmds {
			if strings.Contains(strings.Join(c.Args, " "), "bad") {
				e := ctl.Errorf(ctl.CodeInvalid, "command %d: bad", i+1)
				e.Index = i + 1
				return nil, e
			}
		}
		return make([]any, len(cmds)), nil
	})
	path := filepath.Join(t.TempDir(), "s.sock")
	s, err := ctl.Listen(ctl.ServerConfig{Path: path, GID: -1}, reg)
	require.NoError(t, err)
	go s.Serve()
	t.Cleanup(func() { s.Close() })

	code, _, errOut := vsctl(t, "--socket", path, "route/add", "10.1.0.0/16", "blackhole", "--", "set", "bridge", "br0", "mac_age=5", "--", "route/del", "10.1.0.0/16", "--json")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, [][]ctl.BatchCommand{{
		{Cmd: "route/add", Args: []string{"10.1.0.0/16", "blackhole"}},
		{Cmd: "set-bridge", Args: []string{"br0", "mac_age=5"}},
		{Cmd: "route/del", Args: []string{"10.1.0.0/16"}},
	}}, got)

	file := filepath.Join(t.TempDir(), "cmds")
	require.NoError(t, os.WriteFile(file, []byte("# routes\nroute/add 10.1.0.0/16 blackhole\n\n  route/add 10.2.0.0/16 via=bad\nroute/add 10.3.0.0/16 blackhole\n"), 0o600))
	got = nil
	code, _, errOut = vsctl(t, "--socket", path, "--batch", file)
	require.Equal(t, exitFailed, code)
	require.Contains(t, errOut, file+":4: invalid: command 2: bad")
	require.Len(t, got, 1)
	require.Len(t, got[0], 3)

	// Refused by vsctl, nothing sent.
	got = nil
	for _, args := range [][]string{
		{"route/add", "10.1.0.0/16", "blackhole", "--", "add-port", "br0", "p1"},
		{"route/add", "10.1.0.0/16", "blackhole", "--", "route/show"},
		{"route/add", "10.1.0.0/16", "blackhole", "--", "nosuch"},
		{"route/add", "10.1.0.0/16", "blackhole", "--", "route/add"},
		{"--batch", file, "route/add", "10.1.0.0/16", "blackhole"},
		{"--batch", filepath.Join(t.TempDir(), "missing")},
		{"--", "--"},
	} {
		code, _, errOut := vsctl(t, append([]string{"--socket", path}, args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", args, errOut)
	}
	require.Empty(t, got)
	code, _, errOut = vsctl(t, "--socket", path, "route/add", "1.0.0.0/8", "blackhole", "--", "add-port", "br0", "p1")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "command 2: add-port cannot be in a batch")

	code, out, _ := vsctl(t, "--help")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "-batch FILE")
	require.Contains(t, out, "COMMAND [ARGS...] -- COMMAND")
	require.Contains(t, out, "add a static route; several gateways")
	require.Regexp(t, `route/add .*\n.*\[batch\]`, out)
}
