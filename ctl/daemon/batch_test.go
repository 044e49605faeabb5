package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestBatch: a batch's commands run in order, each seeing those before
// it, and are stored as one journal record; a failing command, or a
// configuration the switch refuses, leaves nothing applied or stored and
// is named by its position.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	defer d.Close()
	r := run(t, d, "add-br", "br0")
	require.True(t, r.OK, "%+v", r.Error)
	journal := filepath.Join(dir, StateFile+journalSuffix)
	size := func() int64 {
		fi, err := os.Stat(journal)
		require.NoError(t, err)
		return fi.Size()
	}

	changes := d.store.JournalChanges()
	r = batch(t, d,
		[]string{"rif/add", "r0", "bridge=br0"},
		[]string{"addr/add", "r0", "10.0.0.1/24"}, // on the interface just added
		[]string{"route/add", "10.9.0.0/16", "via=10.0.0.2"},
		[]string{"route/add", "10.8.0.0/16", "blackhole"},
		[]string{"route/del", "10.8.0.0/16"})
	require.True(t, r.OK, "%+v", r.Error)
	require.JSONEq(t, `[null,null,null,null,null]`, string(r.Result))
	require.Len(t, d.state.Routes, 1)
	require.Equal(t, []string{"10.0.0.1/24"}, d.state.rif("r0").Addrs)
	require.Equal(t, changes+1, d.store.JournalChanges(), "one record for the batch")
	routes, err := d.sw.Routes("")
	require.NoError(t, err)
	found := false
	for _, e := range routes {
		found = found || e.Prefix == "10.9.0.0/16"
	}
	require.True(t, found, "the switch has the batch's route")

	before, n := stateJSON(t, &d.state), size()
	for _, tc := range []struct {
		cmds  [][]string
		code  ctl.Code
		index int
	}{
		// The second command fails in its handler.
		{[][]string{routeAdd(1), {"route/add", "10.9.0.0/16", "blackhole"}, routeAdd(2)}, ctl.CodeExists, 2},
		// The switch refuses the third's route (no such interface):
		// found after the batch, by bisection.
		{[][]string{routeAdd(1), routeAdd(2), {"route/add", "10.7.0.0/16", "dev=nope"}, routeAdd(3)}, ctl.CodeInvalid, 3},
		// Refused before anything runs: not a batch command, unknown,
		// wrong arguments.
		{[][]string{routeAdd(1), {"add-port", "br0", "p1", "type=tap"}}, ctl.CodeInvalid, 2},
		{[][]string{{"no/such"}}, ctl.CodeUnknown, 1},
		{[][]string{routeAdd(1), {"route/add"}}, ctl.CodeUsage, 2},
		// A later command sees an earlier one's change.
		{[][]string{{"vrf/add", "blue"}, {"vrf/del", "blue"}, {"vrf/del", "blue"}}, ctl.CodeNotFound, 3},
	} {
		r := batch(t, d, tc.cmds...)
		require.False(t, r.OK, "%v", tc.cmds)
		require.Equal(t, tc.code, r.Error.Code, "%v: %s", tc.cmds, r.Error.Message)
		require.Equal(t, tc.index, r.Error.Index, "%v: %s", tc.cmds, r.Error.Message)
		require.Contains(t, r.Error.Message, "nothing in the batch was applied")
		require.Equal(t, before, stateJSON(t, &d.state), "%v: applied in part", tc.cmds)
		require.Equal(t, n, size(), "%v: stored", tc.cmds)
		require.False(t, d.state.txn)
	}
	routes2, err := d.sw.Routes("")
	require.NoError(t, err)
	require.Equal(t, routes, routes2, "the switch's routes changed")

	// Requests that are not batches as they should be.
	for _, req := range []ctl.Request{
		{V: ctl.Version, Cmd: ctl.BatchCmd},
		{V: ctl.Version, Cmd: ctl.BatchCmd, Args: []string{"x"}, Batch: []ctl.BatchCommand{{Cmd: "vrf/add", Args: []string{"x"}}}},
		{V: ctl.Version, Cmd: "vrf/add", Args: []string{"x"}, Batch: []ctl.BatchCommand{{Cmd: "vrf/add", Args: []string{"y"}}}},
	} {
		r := d.Registry().Dispatch(t.Context(), &req)
		require.False(t, r.OK, "%+v", req)
	}
	require.Equal(t, before, stateJSON(t, &d.state))

	// A large batch.
	var cmds [][]string
	for i := 0; i < 3000; i++ {
		cmds = append(cmds, routeAdd(i))
	}
	r = batch(t, d, cmds...)
	require.True(t, r.OK, "%+v", r.Error)
	require.Len(t, d.state.Routes, 3001)
	d2 := newMemPortDaemon(t, crashCopy(t, dir), nil)
	require.Len(t, d2.state.Routes, 3001)
	require.NoError(t, d2.Close())
}
