package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNATMartianSource: a container's flow from a source no host sends
// from (loopback, its gateway's address, its subnet's broadcast) is not
// masqueraded: the nat node drops it (martian-source) before it would
// leave with the uplink's address. The forward nodes drop such packets,
// but only after the nat node had translated them, so they went out.
// Its own address is masqueraded as before.
func TestNATMartianSource(t *testing.T) {
	r := newNATRig(t)
	for _, src := range []string{"127.0.0.1", "10.1.0.1", "10.1.0.255", "0.0.0.7"} {
		before := allDrops(r.s)
		r.send("a", tcp4(macRA, macA, src, "10.2.0.2", 40000, 80, "S"))
		require.Empty(t, r.recv(), "%s masqueraded", src)
		require.Equal(t, map[string]uint64{nodeNAT + "/martian-source": 1}, dropsSince(r.s, before), src)
	}
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 80, "S"))
	only(t, r.recv(), "b", 1)
	requireNoLeak(t, r.s)
}
