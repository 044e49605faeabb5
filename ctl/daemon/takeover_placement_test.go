package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/afxdp"
)

// TestInheritedPlacement: an adopted AF_XDP port's queues go to the
// workers whose pools their sockets' UMEMs are, as in the giver, not
// where the switch's rotation by port index would put them (the
// successor's index for the port may differ from the giver's).
func TestInheritedPlacement(t *testing.T) {
	in := &Inherited{st: takeoverState{Pools: []handedPool{{Arena: 70}, {Arena: 71}}}}
	h := &afxdp.Handover{Queues: 3, Sockets: []afxdp.SocketHandover{
		{Queue: 0, Arena: 71, Rx: true, Tx: true},
		{Queue: 1, Arena: 70, Rx: true, Tx: true},
		{Queue: 2, Arena: 71, Rx: true},
	}}
	require.Equal(t, map[int]int{0: 1, 1: 0, 2: 1}, in.placement(h))
	// A socket on an arena no pool has is left to the switch (which
	// refuses it, naming the arenas).
	h.Sockets[2].Arena = 99
	require.Equal(t, map[int]int{0: 1, 1: 0}, in.placement(h))
	require.Nil(t, in.placement(&afxdp.Handover{}))
}
