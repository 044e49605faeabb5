package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestAffinityOutOfRange: an rxq_affinity= naming a worker or a queue the
// switch or port does not have is the user's error (invalid argument, as
// a malformed one is), not an internal one, and adds nothing.
func TestAffinityOutOfRange(t *testing.T) {
	d, err := New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1},
		memPorts: func(spec PortSpec) (ports.Port, error) { return memport.New(memport.Config{Name: spec.Name}) }})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	for _, aff := range []string{"0:5", "3:0"} {
		r := run(t, d, "add-port", "br0", "p1", "type=tap", "rxq_affinity="+aff)
		requireCode(t, r, ctl.CodeInvalid, "rxq_affinity=%s", aff)
		require.Contains(t, r.Error.Message, "rxq_affinity="+aff)
		_, bp := d.state.port("p1")
		require.Nil(t, bp, "the port was stored")
	}
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap", "rxq_affinity=0:0").OK)
}
