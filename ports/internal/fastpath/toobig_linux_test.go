package fastpath

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// TestTooBig: a frame that would leave the egress port longer than its
// MaxFrame — counting the tag the program pushes — is not redirected
// (the kernel would drop it silently at the redirect, the program having
// counted it switched) but handed to the slow path whole, counted as
// too-big; one that fits is switched. The egress host end has MTU 1000:
// the kernel forwards frames of at most 1000+14+4 bytes to it, and the
// switch's pipeline sends at most that (MaxFrame 1018).
func TestTooBig(t *testing.T) {
	tp := newTopo(t, 2, xsk.AttachGeneric, true)
	a, b := tp.ports[0], tp.ports[1]
	tp.learn(t)
	l, err := netlink.LinkByIndex(b.ifindex)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetMTU(l, 1000))
	const maxFrame = 1000 + 14 + 4
	require.NoError(t, tp.maps.SetPort(b.ifindex, PortConfig{Domain: 1, MaxFrame: maxFrame}))
	cfg, ok := tp.maps.Port(b.ifindex)
	require.True(t, ok)
	assert.Equal(t, maxFrame, cfg.MaxFrame)
	sa, sb := packetSocket(t, a.ns, "eth0"), packetSocket(t, b.ns, "eth0")
	hostA := packetSocket(t, nil, a.name)
	const n = 5
	send := func(name string, size int, fits bool) {
		t.Helper()
		id := newID()
		before := tp.counters(t, a)
		fs := frames(n, id, a.mac, b.mac)
		for i := range fs {
			fs[i].size = size
		}
		sa.send(fs...)
		after := tp.counters(t, a)
		if fits {
			assert.Len(t, sb.recvN(id, n), n, "%s: switched to B", name)
			assert.EqualValues(t, n, after.RxPackets-before.RxPackets, "%s: hits", name)
			assert.Equal(t, before.Miss[MissTooBig], after.Miss[MissTooBig], "%s: too-big misses", name)
			return
		}
		assert.Len(t, hostA.recvN(id, n), n, "%s: passed to the slow path (here the host end's stack)", name)
		assert.Empty(t, sb.recv(id, quiet), "%s: B got frames", name)
		after = tp.counters(t, a)
		assert.EqualValues(t, n, after.Miss[MissTooBig]-before.Miss[MissTooBig], "%s: too-big misses", name)
		assert.Equal(t, before.RxPackets, after.RxPackets, "%s: hits", name)
	}
	send("longest that fits", maxFrame, true)
	send("one byte over", maxFrame+1, false)

	// Leaving tagged: 4 bytes more on the wire.
	_, err = tp.maps.SetEntry(1, b.mac, Entry{Ifindex: b.ifindex, VID: 10})
	require.NoError(t, err)
	send("pushed tag: longest that fits", maxFrame-4, true)
	send("pushed tag: one byte over", maxFrame-3, false)

	// The limit changes in place (the switch lowers it with the MTU).
	require.NoError(t, tp.maps.SetPort(b.ifindex, PortConfig{Domain: 1, MaxFrame: maxFrame - 10}))
	send("limit lowered", maxFrame-4, false)
	send("limit lowered: fits", maxFrame-14, true)
	assert.ErrorIs(t, tp.maps.SetPort(b.ifindex, PortConfig{Domain: 1, MaxFrame: -1}), ErrBadConfig)
}
