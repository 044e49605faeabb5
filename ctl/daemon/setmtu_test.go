package daemon

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// TestSetMTUFailsWhole: when a port cannot be made again with its new
// MTU, set-port fails, the port is attached again as it was and nothing
// is stored (it once stayed detached until the retry loop, with the
// interfaces' MTU changed and the stored one not).
func TestSetMTUFailsWhole(t *testing.T) {
	d := newMemPortDaemon(t, t.TempDir(), func(spec PortSpec) (ports.Port, error) {
		if spec.Options["mtu"] == "1400" {
			return nil, errors.New("no port with this MTU")
		}
		return memport.New(memport.Config{Name: spec.Name})
	})
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap").OK)
	r := run(t, d, "set-port", "p1", "mtu=1400")
	require.False(t, r.OK)
	require.Contains(t, r.Error.Message, "no port with this MTU")
	spec, _ := d.state.port("p1")
	require.NotNil(t, spec)
	require.Empty(t, spec.Options["mtu"], "the refused MTU was stored")
	require.Contains(t, d.drivers, "p1", "the port was left detached")
	require.True(t, run(t, d, "set-port", "p1", "mtu=1300").OK)
	spec, _ = d.state.port("p1")
	require.Equal(t, "1300", spec.Options["mtu"])
}
