package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestAffinityOutOfRange: an rxq_affinity= naming a worker or a queue the
// switch or port does not have is the user's error (invalid argument, as
// a malformed one is), not an internal one, and adds nothing.
func TestAffinityOutOfRange(t *testing.T) {
	d := newMemPortDaemon(t, t.TempDir(), nil)
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
