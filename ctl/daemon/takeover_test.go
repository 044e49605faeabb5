package daemon

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

func tempFiles(t *testing.T, n int) []*os.File {
	var fs []*os.File
	for range n {
		f, err := os.CreateTemp(t.TempDir(), "fd")
		require.NoError(t, err)
		fs = append(fs, f)
	}
	return fs
}

// TestInheritRefusesBadState: a state that does not parse or whose
// descriptors do not add up is refused, and every received file closed.
func TestInheritRefusesBadState(t *testing.T) {
	for name, state := range map[string]string{
		"not json":          `{"lock":`,
		"no lock file":      `{"lock":5,"ports":[]}`,
		"port file missing": `{"lock":0,"ports":[{"name":"p","type":"tap","files":[7],"tap":{"ifname":"t","queues":1}}]}`,
		"port on the lock":  `{"lock":0,"ports":[{"name":"p","type":"tap","files":[0],"tap":{"ifname":"t","queues":1}}]}`,
		"no driver state":   `{"lock":0,"ports":[{"name":"p","type":"tap","files":[1]}]}`,
		"two driver states": `{"lock":0,"ports":[{"name":"p","type":"tap","files":[1],"tap":{"ifname":"t","queues":1},"afpacket":{"ifname":"t"}}]}`,
		"afxdp, no pools":   `{"lock":0,"ports":[{"name":"p","type":"afxdp","files":[1],"afxdp":{"ifname":"x","queues":1}}]}`,
		"pool file missing": `{"lock":0,"ports":[],"pools":[{"file":9,"frames":4096}]}`,
		"pool on the lock":  `{"lock":0,"ports":[],"pools":[{"file":0,"frames":4096}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			files := tempFiles(t, 2)
			_, err := Inherit([]byte(state), append([]*os.File(nil), files...))
			require.Error(t, err)
			for _, f := range files {
				require.ErrorIs(t, f.Close(), os.ErrClosed, "a file of a refused state was left open")
			}
		})
	}
}

// TestGiverRefusesOtherPorts: a daemon whose ports cannot be handed over
// (here memory ports, as SR-IOV ones) refuses the export
// and takes commands again at once.
func TestGiverRefusesOtherPorts(t *testing.T) {
	d := newMemPortDaemon(t, t.TempDir(), nil)
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap").OK)
	_, _, err := d.Giver().Export()
	require.ErrorContains(t, err, "cannot be handed over yet")
	require.True(t, run(t, d, "add-port", "br0", "p2", "type=tap").OK, "commands frozen after a refused export")
}

// TestInheritPools: the giver's worker pools are mapped only for as many
// workers as this daemon runs, and only if each memfd is the arena the
// giver named.
func TestInheritPools(t *testing.T) {
	giver, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512, Shared: true})
	require.NoError(t, err)
	t.Cleanup(func() { giver.Close() })
	inherit := func(arena uint64) *Inherited {
		mem, err := giver.Handover()
		require.NoError(t, err)
		files := append(tempFiles(t, 1), mem)
		in, err := Inherit([]byte(fmt.Sprintf(`{"lock":0,"ports":[],"stop_first":true,"pools":[{"file":1,"frames":512,"arena":%d}]}`, arena)), files)
		require.NoError(t, err)
		t.Cleanup(in.Close)
		require.True(t, in.StopFirst())
		return in
	}
	_, err = inherit(giver.ArenaID()).adoptPools(2)
	require.ErrorContains(t, err, "--cores must match")
	_, err = inherit(giver.ArenaID() + 1).adoptPools(1)
	require.ErrorContains(t, err, "arena")
	pools, err := inherit(giver.ArenaID()).adoptPools(0) // 0: one worker
	require.NoError(t, err)
	require.Len(t, pools, 1)
	require.Equal(t, giver.ArenaID(), pools[0].ArenaID())
	require.NoError(t, pools[0].Close())
	require.False(t, (*Inherited)(nil).StopFirst())
}
