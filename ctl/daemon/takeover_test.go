package daemon

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
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
// (here memory ports, as AF_XDP or vhost-user ones) refuses the export
// and takes commands again at once.
func TestGiverRefusesOtherPorts(t *testing.T) {
	d, err := New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1},
		memPorts: func(spec PortSpec) (ports.Port, error) { return memport.New(memport.Config{Name: spec.Name}) }})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap").OK)
	_, _, err = d.Giver().Export()
	require.ErrorContains(t, err, "cannot be handed over yet")
	require.True(t, run(t, d, "add-port", "br0", "p2", "type=tap").OK, "commands frozen after a refused export")
}
