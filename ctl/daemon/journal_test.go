package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// crashCopy copies the state directory's files as they are now: what a
// kill -9 of the daemon at this moment leaves (every acknowledged change
// is synced before its command returns).
func crashCopy(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == LockFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
	return dst
}

// stateJSON is st as stored.
func stateJSON(t *testing.T, st *State) string {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	return string(b)
}

// batch runs cmds (each "name arg...") as one batch.
func batch(t *testing.T, d *Daemon, cmds ...[]string) ctl.Response {
	t.Helper()
	req := ctl.Request{V: ctl.Version, Cmd: ctl.BatchCmd}
	for _, c := range cmds {
		req.Batch = append(req.Batch, ctl.BatchCommand{Cmd: c[0], Args: c[1:]})
	}
	return d.Registry().Dispatch(t.Context(), &req)
}

func routeAdd(i int) []string {
	return []string{"route/add", fmt.Sprintf("100.%d.%d.0/24", i/256, i%256), "via=10.0.0.2"}
}

// TestJournalAppendsChange: a command appends one record to the journal,
// whose size does not depend on the configuration's; config.json is not
// written. It used to be rewritten whole by every command (10,000
// route/adds took 26 minutes).
func TestJournalAppendsChange(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	defer d.Close()
	for _, c := range [][]string{{"add-br", "br0"}, {"rif/add", "r0", "bridge=br0", "addr=10.0.0.1/24"}} {
		r := run(t, d, c[0], c[1:]...)
		require.True(t, r.OK, "%+v", r.Error)
	}
	cfg := filepath.Join(dir, StateFile)
	recordSize := func(i int) int64 {
		before, err := os.Stat(cfg)
		require.NoError(t, err)
		jb, err := os.Stat(cfg + journalSuffix)
		require.NoError(t, err)
		c := routeAdd(i)
		r := run(t, d, c[0], c[1:]...)
		require.True(t, r.OK, "%+v", r.Error)
		after, err := os.Stat(cfg)
		require.NoError(t, err)
		require.True(t, os.SameFile(before, after) && before.ModTime().Equal(after.ModTime()), "config.json was rewritten")
		ja, err := os.Stat(cfg + journalSuffix)
		require.NoError(t, err)
		return ja.Size() - jb.Size()
	}
	var cmds [][]string
	for i := 0; i < 900; i++ {
		cmds = append(cmds, routeAdd(i))
	}
	r := batch(t, d, cmds[:100]...)
	require.True(t, r.OK, "%+v", r.Error)
	small := recordSize(1000) // the 101st route
	r = batch(t, d, cmds[100:]...)
	require.True(t, r.OK, "%+v", r.Error)
	// The 902nd: the record names its index (as many digits), nothing
	// else of the table.
	require.Equal(t, small, recordSize(1001), "a route/add's record grows with the table")
	require.Less(t, small, int64(200))
}

// TestJournalCrashLosesNothing: after every acknowledged command, single
// or batched, the files as a kill -9 would leave them start a daemon
// with exactly the configuration the running one has.
func TestJournalCrashLosesNothing(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	defer d.Close()
	steps := [][][]string{
		{{"add-br", "br0"}},
		{{"add-br", "br1", "mac_age=60"}},
		{{"set-bridge", "br1", "mac_limit=100"}},
		{{"add-port", "br0", "p1", "type=tap"}},
		{{"vrf/add", "blue"}},
		{{"rif/add", "r0", "bridge=br0", "addr=10.0.0.1/24"}},
		{{"addr/add", "r0", "fd00::1/64"}},
		{{"route/add", "10.9.0.0/16", "via=10.0.0.2"}},
		{{"route/add", "10.8.0.0/16", "blackhole"}},
		{{"neigh/add", "r0", "10.0.0.2", "02:00:00:00:00:02"}},
		{{"fdb/add", "br0", "02:00:00:00:00:09", "p1"}},
		{{"route/del", "10.9.0.0/16"}},
		{routeAdd(1), routeAdd(2), {"route/del", "10.8.0.0/16"}, routeAdd(3)},
		{{"sg/add", "web"}},
		{{"sg/rule-add", "web", "name=r1", "dir=ingress", "action=allow", "proto=tcp", "port=80"}},
		{{"set-port", "p1", "mac_limit=50"}},
		{{"rif/del", "r0"}},
		{{"del-port", "p1"}},
		{{"del-br", "br1"}},
	}
	for _, s := range steps {
		var r ctl.Response
		if len(s) == 1 {
			r = run(t, d, s[0][0], s[0][1:]...)
		} else {
			r = batch(t, d, s...)
		}
		require.True(t, r.OK, "%v: %+v", s, r.Error)
		want := stateJSON(t, &d.state)
		d2 := newMemPortDaemon(t, crashCopy(t, dir), nil)
		got := stateJSON(t, &d2.state)
		require.NoError(t, d2.Close())
		require.JSONEq(t, want, got, "after %v", s)
	}
	require.NotZero(t, d.store.JournalChanges(), "the changes went to the journal")
}

// TestJournalTornAtEveryOffset: a journal cut at any byte (a crash in
// the middle of an append) or with any byte damaged loads as its
// snapshot and the change records that are whole and intact before the
// cut or the damage, never a record in part, never an error.
func TestJournalTornAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	defer d.Close()
	r := run(t, d, "add-br", "br0")
	require.True(t, r.OK, "%+v", r.Error)
	require.NoError(t, d.Close()) // compacted: the journal starts here
	d = newMemPortDaemon(t, dir, nil)
	defer d.Close()
	states := []string{stateJSON(t, &d.state)} // after k changes
	for _, c := range [][]string{{"rif/add", "r0", "bridge=br0", "addr=10.0.0.1/24"}, routeAdd(1), routeAdd(2), {"route/del", "100.0.1.0/24"}, {"add-br", "br1"}} {
		r := run(t, d, c[0], c[1:]...)
		require.True(t, r.OK, "%+v", r.Error)
		states = append(states, stateJSON(t, &d.state))
	}
	path := filepath.Join(dir, StateFile+journalSuffix)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	jf, err := readJournal(path)
	require.NoError(t, err)
	require.Len(t, jf.changes, len(states)-1)
	// Where each record ends.
	var ends []int
	off := len(journalMagic)
	for off < len(full) {
		_, _, n, why := nextRecord(full[off:])
		require.Empty(t, why)
		off += int(n)
		ends = append(ends, off)
	}
	require.Len(t, ends, len(states)) // the snapshot, then the changes
	tmp := filepath.Join(t.TempDir(), "j")
	load := func(b []byte) (string, *journalFile, error) {
		require.NoError(t, os.WriteFile(tmp, b, 0o600))
		jf, err := readJournal(tmp)
		if err != nil {
			return "", nil, err
		}
		st, err := decodeState(tmp, jf.snapshot)
		require.NoError(t, err)
		_, err = applyChanges(&st, jf.changes)
		require.NoError(t, err)
		return stateJSON(t, &st), jf, nil
	}
	whole := func(n int) int { // records wholly within n bytes, past the snapshot
		k := 0
		for _, e := range ends[1:] {
			if e <= n {
				k++
			}
		}
		return k
	}
	for n := 0; n <= len(full); n++ {
		got, jf, err := load(full[:n])
		if n < ends[0] {
			require.ErrorIs(t, err, errJournalUnusable, "cut at %d, in the snapshot record", n)
			continue
		}
		require.NoError(t, err, "cut at %d", n)
		k := whole(n)
		require.JSONEq(t, states[k], got, "cut at %d: %d changes whole", n, k)
		require.Equal(t, n != ends[k], jf.tornAt >= 0, "cut at %d: torn tail reported", n)
	}
	for i := ends[0]; i < len(full); i++ {
		b := bytes.Clone(full)
		b[i] ^= 0x01 // (0x20 makes a checksum's hex digit upper case: the same number)
		got, jf, err := load(b)
		require.NoError(t, err, "byte %d damaged", i)
		k := whole(i) // the damaged record and those after it are dropped
		require.JSONEq(t, states[k], got, "byte %d damaged", i)
		require.GreaterOrEqual(t, jf.tornAt, int64(0), "byte %d damaged: not reported", i)
	}

	// Through a start: a record cut in half is dropped with a log line;
	// the start compacts, and later changes are stored after it.
	cut := crashCopy(t, dir) // before Close, which compacts
	require.NoError(t, d.Close())
	require.NoError(t, os.WriteFile(filepath.Join(cut, StateFile+journalSuffix), full[:ends[3]+5], 0o600))
	var log bytes.Buffer
	d2, err := New(Config{StateDir: cut, Switch: vswitch.Options{Workers: 1}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	require.JSONEq(t, states[3], stateJSON(t, &d2.state))
	require.Contains(t, log.String(), "torn or damaged record dropped")
	require.Contains(t, log.String(), fmt.Sprintf("offset=%d", ends[3]))
	r = run(t, d2, "add-br", "br9")
	require.True(t, r.OK, "%+v", r.Error)
	want := stateJSON(t, &d2.state)
	d3 := newMemPortDaemon(t, crashCopy(t, cut), nil)
	require.JSONEq(t, want, stateJSON(t, &d3.state))
	require.NoError(t, d3.Close())
	require.NoError(t, d2.Close())
}

// TestJournalUpgrade: a state directory of an older vswitchd (config.json
// and config.json.prev, no journal) loads as it is; the start makes the
// journal, and changes go to it.
func TestJournalUpgrade(t *testing.T) {
	dir := t.TempDir()
	old := `{
  "version": 1,
  "bridges": [{"name": "br0", "ports": null}],
  "ports": null,
  "routes": [{"prefix": "10.1.0.0/16", "blackhole": true}],
  "host_id": "0123456789abcdef"
}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte(old), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile+".prev"), []byte(`{"version":1}`), 0o600))
	d := newMemPortDaemon(t, dir, nil)
	defer d.Close()
	require.Len(t, d.state.Bridges, 1)
	require.Len(t, d.state.Routes, 1)
	require.FileExists(t, filepath.Join(dir, StateFile+journalSuffix))
	prev, err := os.ReadFile(filepath.Join(dir, StateFile+".prev"))
	require.NoError(t, err)
	require.Equal(t, `{"version":1}`, string(prev), "a start with nothing new keeps the previous copy")
	r := run(t, d, "route/add", "10.2.0.0/16", "blackhole")
	require.True(t, r.OK, "%+v", r.Error)
	require.Equal(t, 1, d.store.JournalChanges())
	d2 := newMemPortDaemon(t, crashCopy(t, dir), nil)
	require.Len(t, d2.state.Routes, 2)
	require.NoError(t, d2.Close())
}

// TestJournalOfAnotherSnapshot: a compaction cut short between its two
// renames leaves the new config.json with the old journal: its changes
// are in config.json already, and are not applied again.
func TestJournalOfAnotherSnapshot(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	r := run(t, d, "add-br", "br0")
	require.True(t, r.OK, "%+v", r.Error)
	for i := 0; i < 3; i++ {
		r := run(t, d, routeAdd(i)[0], routeAdd(i)[1:]...)
		require.False(t, r.OK, "no interface yet: refused")
	}
	r = run(t, d, "add-br", "br1")
	require.True(t, r.OK, "%+v", r.Error)
	oldJournal, err := os.ReadFile(filepath.Join(dir, StateFile+journalSuffix))
	require.NoError(t, err)
	require.NoError(t, d.Close()) // compacts
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile+journalSuffix), oldJournal, 0o600))
	var log bytes.Buffer
	d, err = New(Config{StateDir: dir, Switch: vswitch.Options{Workers: 1}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer d.Close()
	require.Len(t, d.state.Bridges, 2, "br1 once, from config.json")
	require.Contains(t, log.String(), "belongs to another copy")
}

// TestStoreCommitAfterOtherWriter: if another process replaced the
// journal (a takeover's successor that gave up), Commit writes the whole
// document instead of appending to a file no one reads.
func TestStoreCommitAfterOtherWriter(t *testing.T) {
	dir := t.TempDir()
	st, err := NewStore(dir, StateFile)
	require.NoError(t, err)
	defer st.Close()
	a, b, c := State{Version: 1, HostID: "a"}, State{Version: 1, HostID: "b"}, State{Version: 1, HostID: "c"}
	require.NoError(t, st.Save(&a))
	require.NoError(t, st.Commit(&a, &b))
	require.Equal(t, 1, st.JournalChanges())
	other, err := NewStore(dir, StateFile)
	require.NoError(t, err)
	require.NoError(t, other.Save(&State{Version: 1, HostID: "other"}))
	other.Close()
	require.NoError(t, st.Commit(&b, &c))
	require.Equal(t, 0, st.JournalChanges(), "saved whole")
	var got State
	found, err := st.Load(&got)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "c", got.HostID)
	st.Freeze()
	require.ErrorIs(t, st.Commit(&c, &a), errFrozen)
}

// TestDeepCopyIsJSONClone: clone copies every stored field (as the JSON
// round trip it replaced did) and shares nothing a change could reach.
func TestDeepCopyIsJSONClone(t *testing.T) {
	off := false
	s := State{Version: 1, Bridges: []vswitch.Bridge{{Name: "b", FastPath: &off, Ports: []vswitch.Port{{Name: "p"}}}},
		Ports:  []PortSpec{{Name: "p", Bridge: "b", Type: "tap", Options: map[string]string{"mtu": "1400"}}},
		Routes: []vswitch.Route{{Prefix: "10.0.0.0/8", Via: []vswitch.NextHop{{Addr: "10.0.0.1"}}}},
		VTEP:   &vswitch.VTEP{Addr: "192.0.2.1"}, HostID: "h"}
	c := s.clone()
	require.Equal(t, stateJSON(t, &s), stateJSON(t, &c))
	c.Bridges[0].Ports[0].Name = "x"
	*c.Bridges[0].FastPath = true
	c.Ports[0].Options["mtu"] = "9000"
	c.Routes[0].Via[0].Addr = "x"
	c.VTEP.Addr = "x"
	require.Equal(t, "p", s.Bridges[0].Ports[0].Name)
	require.False(t, *s.Bridges[0].FastPath)
	require.Equal(t, "1400", s.Ports[0].Options["mtu"])
	require.Equal(t, "10.0.0.1", s.Routes[0].Via[0].Addr)
	require.Equal(t, "192.0.2.1", s.VTEP.Addr)
}
