package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/vswitch"
)

// TestMissingConfigKeepsPrevious: with config.json gone and its previous
// copy there, the daemon starts empty and the previous copy used to be
// replaced by the second save of the new configuration (any command after
// the start's own save). It is now moved to config.json.prev.kept-TIME,
// named in the log, and no later save touches it.
func TestMissingConfigKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, StateFile)
	d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-br", "br1").OK)
	require.NoError(t, d.Close())
	prev, err := os.ReadFile(cfg + ".prev")
	require.NoError(t, err)
	require.Contains(t, string(prev), `"br0"`)
	require.NoError(t, os.Remove(cfg))

	var log bytes.Buffer
	d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	require.Empty(t, d.state.Bridges, "a missing config.json starts empty")
	kept, _ := filepath.Glob(cfg + ".prev.kept-*")
	require.Len(t, kept, 1)
	require.Contains(t, log.String(), kept[0], "the log names the kept copy")
	require.NoFileExists(t, cfg+".prev")
	// Changes: each save rotates config.json into config.json.prev.
	for _, br := range []string{"aux1", "aux2", "aux3"} {
		require.True(t, run(t, d, "add-br", br).OK)
	}
	require.NoError(t, d.Close())
	b, err := os.ReadFile(kept[0])
	require.NoError(t, err)
	require.Equal(t, string(prev), string(b), "the kept copy is as it was")
	b, err = os.ReadFile(cfg + ".prev")
	require.NoError(t, err)
	require.Contains(t, string(b), `"aux2"`, "the new configuration has its own previous copy")

	// A normal start sets nothing more aside.
	d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	require.Len(t, d.state.Bridges, 3)
	require.NoError(t, d.Close())
	again, _ := filepath.Glob(cfg + ".prev.kept-*")
	require.Equal(t, kept, again)
}
