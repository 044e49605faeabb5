package daemon

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestBridgeMACLimitRefusalsShown: sources a bridge at its MAC limit
// does not learn are in show (the bridge's mac_limit_drops) and in show
// errors (bridge:NAME mac-limit-not-learned), as a port's own limit's
// are (port:NAME). Until 2026-12-08 only the metrics' MAC stats had them:
// show said nothing and the ports' mac_limit_drops read 0.
func TestBridgeMACLimitRefusalsShown(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1", "type=tap")
	m.ok(t, nil, "add-port", "br0", "p2", "type=tap", "mac_limit=1")
	m.ok(t, nil, "set-bridge", "br0", "mac_limit=3")
	show := func() ctl.BridgeView {
		var v ctl.ShowView
		m.ok(t, &v, "show")
		require.Len(t, v.Bridges, 1)
		return v.Bridges[0]
	}
	port := func(b ctl.BridgeView, name string) ctl.PortView {
		for _, p := range b.Ports {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("no port %s in show", name)
		return ctl.PortView{}
	}
	require.Zero(t, show().MACLimitDrops)
	// p2 sends from two sources: one learned, one refused by its own
	// limit. Then p1 from four: two learned (the bridge is full at
	// three), two refused by the bridge's limit.
	require.Eventually(t, func() bool {
		m.port("p2").Inject(0, frame(0x21), frame(0x22))
		return port(show(), "p2").MACLimitDrops > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		for src := byte(1); src <= 4; src++ {
			m.port("p1").Inject(0, frame(src))
		}
		return show().MACLimitDrops >= 2
	}, 10*time.Second, 10*time.Millisecond)
	b := show()
	require.Equal(t, 3, b.MACLimit)
	require.Equal(t, 2, port(b, "p1").Learned)
	require.Zero(t, port(b, "p1").MACLimitDrops, "the port's own limit refused nothing")
	var errs []ctl.ErrorCount
	m.ok(t, &errs, "show-errors")
	require.Subset(t, errNodes(errs), []string{"bridge:br0 mac-limit-not-learned", "port:p2 mac-limit-not-learned"}, "%+v", errs)

	// The same in Prometheus, under vswitch_drops_total.
	mt := gatherMetrics(t, newMetricsCollector(m.d))
	require.Contains(t, mt, "vswitch_drops_total{node=bridge:br0,reason=mac-limit-not-learned}")
	require.Contains(t, mt, "vswitch_drops_total{node=port:p2,reason=mac-limit-not-learned}")
}

// errNodes lists show errors' counters as "node reason".
func errNodes(es []ctl.ErrorCount) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Node+" "+e.Reason)
	}
	return out
}
