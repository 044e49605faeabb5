package daemon

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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
	require.NoError(t, d.Close()) // compacts: config.json.prev is the copy before
	d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
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
	keptJ, _ := filepath.Glob(cfg + ".journal.kept-*")
	require.Len(t, keptJ, 1, "the journal of the configuration that is gone is set aside too")
	// Changes: each compaction rotates config.json into config.json.prev.
	for _, br := range []string{"aux1", "aux2", "aux3"} {
		require.True(t, run(t, d, "add-br", br).OK)
		require.NoError(t, d.Close())
		d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
		require.NoError(t, err)
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

// TestDanglingPortReferencesFallBack: a port whose bridge is not there
// (or that its bridge does not list) was restored, forwarded, and was
// missing from show and list-ports. Such a config.json is unusable like
// a torn one: set aside, the copy in the journal used; such files, with
// a damaged journal, refuse the start.
func TestDanglingPortReferencesFallBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(*State)
	}{
		{"no such bridge", func(st *State) { st.Ports[1].Bridge = "nobr" }},
		{"another bridge", func(st *State) { st.Ports[1].Bridge = "br1" }},
		{"routed but bridged", func(st *State) { st.Ports[1].Bridge = "" }},
		{"not listed by its bridge", func(st *State) { st.Bridges[0].Ports = st.Bridges[0].Ports[:1] }},
		{"listed but not configured", func(st *State) { st.Ports = st.Ports[:1] }},
		{"configured twice", func(st *State) { st.Ports = append(st.Ports, st.Ports[1]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, StateFile)
			m := startMem(t, dir)
			m.ok(t, nil, "add-br", "br0")
			m.ok(t, nil, "add-br", "br1")
			m.ok(t, nil, "add-port", "br0", "au0", "type=tap")
			m.ok(t, nil, "add-port", "br0", "au1", "type=tap")
			m.stop()
			st := readState(t, cfg)
			require.Equal(t, []string{"au0", "au1"}, portNames(st))
			tc.damage(&st)
			damaged := writeState(t, cfg, st)

			m = startMem(t, dir)
			var ports []string
			m.ok(t, &ports, "list-ports", "br0")
			require.Equal(t, []string{"au0", "au1"}, ports, "started from the journal's copy")
			asides, _ := filepath.Glob(cfg + ".corrupt-*")
			require.Len(t, asides, 1)
			b, err := os.ReadFile(asides[0])
			require.NoError(t, err)
			require.Equal(t, damaged, b, "the damaged file is kept as it was")
			m.stop()

			// Both files damaged so, and the journal: no start, both
			// named, none set aside.
			writeState(t, cfg, st)
			writeState(t, cfg+".prev", st)
			require.NoError(t, os.WriteFile(cfg+".journal", []byte("damaged"), 0o600))
			_, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}})
			require.ErrorContains(t, err, cfg+":")
			require.ErrorContains(t, err, cfg+".prev")
			asides, _ = filepath.Glob(cfg + ".corrupt-*")
			require.Len(t, asides, 1)
		})
	}
}

// TestDaemonWrittenPortsPassCheck: what the daemon writes passes the
// reference checks: bridged and routed ports, bridged and routed
// endpoints, a port deleted, a bridge deleted with its ports.
func TestDaemonWrittenPortsPassCheck(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, StateFile)
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-br", "br1")
	m.ok(t, nil, "add-br", "br2")
	m.ok(t, nil, "add-port", "br0", "p0", "type=tap")
	m.ok(t, nil, "add-port", "br1", "p1", "type=tap", "trunks=20-30")
	m.ok(t, nil, "add-port", "br2", "p2", "type=tap")
	m.ok(t, nil, "add-port", "br1", "p3", "type=tap")
	m.ok(t, nil, "endpoint/add", epReq("netA", "c1"))
	m.ok(t, nil, "endpoint/add", routedReq("r1"))
	m.ok(t, nil, "endpoint/add", routedReq("r2"))
	m.ok(t, nil, "endpoint/del", routedReq("r2"))
	m.ok(t, nil, "del-port", "p3")
	m.ok(t, nil, "del-br", "br2")
	m.stop()
	st := readState(t, cfg)
	require.NoError(t, checkPortState(&st))
	require.Len(t, st.Ports, 4)

	m = startMem(t, dir)
	asides, _ := filepath.Glob(cfg + ".corrupt-*")
	require.Empty(t, asides)
	require.Len(t, m.endpoints(t), 2)
}

func readState(t *testing.T, path string) State {
	t.Helper()
	var st State
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

// writeState replaces path with st (by rename: config.json may be a link
// to config.json.prev; not through the store: no previous copy is
// rotated) and returns the bytes written.
func writeState(t *testing.T, path string, st State) []byte {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".test-tmp", b, 0o600))
	require.NoError(t, os.Rename(path+".test-tmp", path))
	return b
}

func portNames(st State) []string {
	var out []string
	for _, p := range st.Ports {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}
