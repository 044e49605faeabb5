package afxdp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports"
)

// TestFastPathMaxFrame: SetPort gives the fast path the port's largest
// frame, the one the switch's pipeline checks its frames against
// (Info().MaxFrame), read from the device's MTU each time — the switch
// sets the port again after an MTU change.
func TestFastPathMaxFrame(t *testing.T) {
	nettest.NeedRoot(t)
	f, err := NewFastPath(FastPathConfig{})
	if err != nil {
		t.Skipf("no fast path here: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	ns := nettest.NewNS(t)
	host := "vsm" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.85.0.1/24", 1)
	l, err := netlink.LinkByName(host)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetMTU(l, 1400))
	p, err := New(Config{Ifname: host, RingSize: 512, FastPath: f})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	ix := l.Attrs().Index
	require.NoError(t, f.SetPort(ix, ports.FastPathPort{Domain: 1}))
	t.Cleanup(func() { f.DelPort(ix) })
	cfg, ok := f.m.Port(ix)
	require.True(t, ok)
	assert.Equal(t, p.Info().MaxFrame, cfg.MaxFrame)
	assert.Equal(t, 1418, cfg.MaxFrame)

	require.NoError(t, netlink.LinkSetMTU(l, 1300))
	require.NoError(t, f.SetPort(ix, ports.FastPathPort{Domain: 1}))
	cfg, _ = f.m.Port(ix)
	assert.Equal(t, 1318, cfg.MaxFrame)
}
