package daemon

import (
	"bytes"
	"encoding"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// strictSetup stores a configuration with a bridge, a port bound to a
// security group, and returns its host ID (the daemon is closed: its
// journal is compacted into config.json, config.json.prev is the copy
// before).
func strictSetup(t *testing.T, dir string) string {
	t.Helper()
	d := newMemPortDaemon(t, dir, nil)
	for _, c := range [][]string{{"add-br", "br0"}, {"add-port", "br0", "p1", "type=tap"}, {"sg/add", "web"}, {"sg/bind", "p1", "web"}} {
		r := run(t, d, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	id := d.state.HostID
	require.NotEmpty(t, id)
	require.NoError(t, d.Close())
	return id
}

// TestWrongShapedConfigNotLoaded: a config.json of another shape ({},
// the --config flags file, an unknown key, security_groups misspelled)
// used to load silently: an empty switch, or one whose ports lost their
// security groups, with a new host ID committed and config.json.prev
// replaced by the bad file at the first save. It is damage now: kept as
// config.json.corrupt-TIME, the journal's copy used, an ERROR line; with
// no usable copy the start is refused and nothing is written.
func TestWrongShapedConfigNotLoaded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(good []byte) []byte
	}{
		{"empty object", func([]byte) []byte { return []byte("{}") }},
		{"flags file", func([]byte) []byte { return []byte(`{"state-dir": "/srv/x"}`) }},
		{"unknown key", func([]byte) []byte { return []byte(`{"foo":1}`) }},
		{"unknown key with version", func([]byte) []byte { return []byte(`{"version":1,"foo":1}`) }},
		{"security_groups misspelled", func(good []byte) []byte {
			return bytes.Replace(good, []byte(`"security_groups"`), []byte(`"security_group"`), 1)
		}},
		{"nested key misspelled", func(good []byte) []byte {
			return bytes.Replace(good, []byte(`"bridge":`), []byte(`"brigde":`), 1)
		}},
		{"trailing object", func(good []byte) []byte { return append(slices.Clone(good), "{}"...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, StateFile)
			id := strictSetup(t, dir)
			good, err := os.ReadFile(cfg)
			require.NoError(t, err)
			bad := tc.damage(good)
			require.NotEqual(t, good, bad)
			require.NoError(t, os.WriteFile(cfg, bad, 0o600))

			var log bytes.Buffer
			d, err := New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, memPorts: memPortMaker,
				Logger: slog.New(slog.NewTextHandler(&log, nil))})
			require.NoError(t, err)
			require.Len(t, d.state.SecurityGroups, 1, "the groups are lost")
			require.Equal(t, []string{"p1"}, d.state.SecurityGroups[0].Ports)
			require.Equal(t, id, d.state.HostID, "a new host ID")
			require.Contains(t, log.String(), "level=ERROR")
			require.Contains(t, log.String(), "STORED CONFIGURATION UNUSABLE")
			asides, _ := filepath.Glob(cfg + ".corrupt-*")
			require.Len(t, asides, 1)
			b, err := os.ReadFile(asides[0])
			require.NoError(t, err)
			require.Equal(t, bad, b, "the bad file is kept as it was")
			require.True(t, run(t, d, "add-br", "br1").OK)
			require.NoError(t, d.Close())
			prev, err := os.ReadFile(cfg + ".prev")
			require.NoError(t, err)
			require.True(t, validState(prev), "config.json.prev is not a configuration: %s", prev)

			// Nothing usable (the bad file alone): refused, nothing
			// written, no host ID made.
			dir = t.TempDir()
			cfg = filepath.Join(dir, StateFile)
			require.NoError(t, os.WriteFile(cfg, bad, 0o600))
			_, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, memPorts: memPortMaker})
			require.ErrorContains(t, err, cfg)
			require.ErrorContains(t, err, "corrupt")
			names := dirNames(t, dir)
			require.Equal(t, []string{StateFile}, names, "a file was written")
			b, err = os.ReadFile(cfg)
			require.NoError(t, err)
			require.Equal(t, bad, b)
		})
	}
}

func memPortMaker(spec PortSpec) (ports.Port, error) {
	return memport.New(memport.Config{Name: spec.Name})
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		if e.Name() != LockFile && e.Name() != CaptureSubdir {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestOldConfigLoadsStrictly: a file as the first vswitchd wrote it
// (version, bridges, ports) loads, and every field of State, filled,
// comes back from its JSON under the strict decoder: nothing the daemon
// writes is an unknown field to it.
func TestOldConfigLoadsStrictly(t *testing.T) {
	old := `{"version":1,"bridges":[{"name":"br0","ports":[{"name":"p1"}]}],"ports":[{"name":"p1","bridge":"br0","type":"tap"}]}`
	st, err := decodeState("config.json", []byte(old))
	require.NoError(t, err)
	require.Equal(t, "p1", st.Ports[0].Name)

	var full State
	fillAll(reflect.ValueOf(&full).Elem(), 0)
	full.Version = stateVersion
	b, err := json.Marshal(&full)
	require.NoError(t, err)
	_, err = decodeState("config.json", b)
	require.NoError(t, err, "%s", b)
}

// fillAll sets every settable field of v to something not zero (lists and
// maps of one element), but values that decode themselves (text and
// JSON unmarshalers: their zero value encodes to what they decode).
func fillAll(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	if v.CanAddr() {
		switch v.Addr().Interface().(type) {
		case encoding.TextUnmarshaler, json.Unmarshaler:
			return
		}
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem(), depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(v.Index(0), depth+1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillAll(k, depth+1)
		fillAll(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i), depth+1)
			}
		}
	}
}

// TestJournalChangeStrict: a change record whose value has a field the
// configuration does not know is not applied (it was dropped silently).
func TestJournalChangeStrict(t *testing.T) {
	st := State{Version: stateVersion}
	require.Error(t, applyChange(&st, []byte(`{"ops":[{"op":"set","f":"security_groups","value":[{"name":"web","portz":["p1"]}]}]}`)))
	require.Empty(t, st.SecurityGroups)
	require.Error(t, applyChange(&st, []byte(`{"ops":[{"op":"set","f":"bridges","value":[{"name":"b","nope":1}]}]}`)))
	require.NoError(t, applyChange(&st, []byte(`{"ops":[{"op":"set","f":"security_groups","value":[{"name":"web"}]}]}`)))
	require.Error(t, applyChange(&st, []byte(`{"ops":[{"op":"splice","f":"security_groups","at":1,"ins":[{"name":"db","x":1}]}]}`)))
	require.Len(t, st.SecurityGroups, 1)
}

// TestStaleTempFilesRemoved: the temporary files of a save cut short by
// a kill -9 (its removal is deferred) piled up in the state directory.
// The start removes the store's own, and nothing else.
func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	strictSetup(t, dir)
	stale := []string{"config.json.tmp-123456", "config.json.journal.tmp-99", "config.json.prev-tmp", "config.json.restore-tmp"}
	others := []string{"config.json.tmp-abc", "config.json.tmp-", "other.json.tmp-1", "notes.txt", "config.json.tmp-12.bak"}
	for _, n := range append(slices.Clone(stale), others...) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "config.json.tmp-7"), 0o700)) // not a file the store made
	d := newMemPortDaemon(t, dir, nil)
	require.NoError(t, d.Close())
	for _, n := range stale {
		require.NoFileExists(t, filepath.Join(dir, n))
	}
	for _, n := range others {
		require.FileExists(t, filepath.Join(dir, n))
	}
	require.DirExists(t, filepath.Join(dir, "config.json.tmp-7"))

	// The address blocks' cache store likewise.
	require.NoError(t, os.WriteFile(filepath.Join(dir, BlocksFile+".tmp-5"), []byte("x"), 0o600))
	newCacheStore(dir, BlocksFile)
	require.NoFileExists(t, filepath.Join(dir, BlocksFile+".tmp-5"))
}

// TestInconsistentEntriesNotLoaded: two endpoints on one port, one
// endpoint stored twice, and a security group bound to a port that is
// not configured loaded without complaint (then neither endpoint could
// be deleted; a port added later under the name joined the group). Such
// a config.json is unusable: set aside, the journal's copy used.
func TestInconsistentEntriesNotLoaded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(*State)
		want   string
	}{
		{"endpoints share a port", func(st *State) {
			e := st.Endpoints[0]
			e.ContainerID = "c2"
			st.Endpoints = append(st.Endpoints, e)
		}, "share the port"},
		{"endpoint twice", func(st *State) { st.Endpoints = append(st.Endpoints, st.Endpoints[0]) }, "stored twice"},
		{"binding to no port", func(st *State) { st.SecurityGroups[0].Ports = append(st.SecurityGroups[0].Ports, "ghost") }, "ghost is not configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, StateFile)
			m := startMem(t, dir)
			m.ok(t, nil, "add-br", "br0")
			m.ok(t, nil, "endpoint/add", epReq("netA", "c1"))
			m.ok(t, nil, "add-port", "br0", "p1", "type=tap")
			m.ok(t, nil, "sg/add", "web")
			m.ok(t, nil, "sg/bind", "p1", "web")
			m.stop()
			st := readState(t, cfg)
			require.NoError(t, checkPortState(&st))
			require.NoError(t, checkEndpointRefs(&st))
			tc.damage(&st)
			err := checkPortState(&st)
			if err == nil {
				err = checkEndpointRefs(&st)
			}
			require.ErrorContains(t, err, tc.want)
			damaged := writeState(t, cfg, st)

			m = startMem(t, dir)
			require.Len(t, m.endpoints(t), 1, "started from the journal's copy")
			asides, _ := filepath.Glob(cfg + ".corrupt-*")
			require.Len(t, asides, 1)
			b, err := os.ReadFile(asides[0])
			require.NoError(t, err)
			require.Equal(t, damaged, b)
			m.ok(t, nil, "endpoint/del", epReq("netA", "c1"))
			m.stop()
		})
	}
}
