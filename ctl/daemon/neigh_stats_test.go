package daemon

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// arpRequest is a broadcast ARP request from sha/spa for tpa.
func arpRequest(sha [6]byte, spa, tpa string) []byte {
	b := make([]byte, 60)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], sha[:])
	b[12], b[13] = 0x08, 0x06
	copy(b[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(b[22:28], sha[:])
	s, t := netip.MustParseAddr(spa).As4(), netip.MustParseAddr(tpa).As4()
	copy(b[28:32], s[:])
	copy(b[38:42], t[:])
	return b
}

// TestNeighStats: neigh/stats and the vswitch_neighbor_* metrics show the
// ARP/ND table's size, its limits and its counters (learned, evicted,
// full...), per interface too; neither vsctl nor the metrics showed any
// of them, so a table filled by one container was invisible.
func TestNeighStats(t *testing.T) {
	mem := map[string]*memport.Port{}
	d := newMemPortDaemon(t, t.TempDir(), func(spec PortSpec) (ports.Port, error) {
		p, err := memport.New(memport.Config{Name: spec.Name})
		mem[spec.Name] = p
		return p, err
	})
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap").OK)
	require.True(t, run(t, d, "rif/add", "gw0", "bridge=br0", "addr=10.30.0.1/24").OK)
	for i := range 3 {
		mem["p1"].Inject(0, arpRequest([6]byte{2, 0, 0, 0, 0, byte(10 + i)}, "10.30.0."+string(rune('5'+i)), "10.30.0.1"))
	}
	// A sender claiming a broadcast MAC is not learned.
	bad := arpRequest([6]byte{2, 0, 0, 0, 0, 0x66}, "10.30.0.9", "10.30.0.1")
	copy(bad[22:28], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	mem["p1"].Inject(0, bad)
	d.sw.Poll()

	r := run(t, d, "neigh/stats")
	require.True(t, r.OK, "%v", r.Error)
	var st ctl.NeighborStats
	decode(t, r, &st)
	require.Equal(t, ctl.NeighborStats{Entries: 3, Stale: 3, Limit: 65536, InterfaceLimit: 16384, Learned: 3,
		Interfaces: []ctl.NeighborIfaceStats{{Interface: "gw0", Stale: 3}}}, st)

	m := gatherMetrics(t, newMetricsCollector(d))
	for k, v := range map[string]float64{
		"vswitch_neighbor_entries{state=stale}":                         3,
		"vswitch_neighbor_entries{state=reachable}":                     0,
		"vswitch_neighbor_entries{state=static}":                        0,
		"vswitch_neighbor_interface_entries{interface=gw0,state=stale}": 3,
		"vswitch_neighbor_limit":                                        65536,
		"vswitch_neighbor_interface_limit":                              16384,
		"vswitch_neighbor_learned_total":                                3,
		"vswitch_neighbor_evicted_total":                                0,
		"vswitch_neighbor_full_total":                                   0,
		"vswitch_drops_total{node=arp-input,reason=bad-sender-mac}":     1,
	} {
		require.Contains(t, m, k)
		require.Equal(t, v, m[k], k)
	}
}
