package vswitch

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func portInfo(t *testing.T, s *Switch, name string) PortInfo {
	t.Helper()
	for _, p := range s.Ports() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no port %s", name)
	return PortInfo{}
}

// TestPortMACLimit: a port learns at most its MAC limit; sources beyond it
// are flooded to, not learned, and counted for the port; the other ports
// of the bridge keep learning; a flush makes room again.
func TestPortMACLimit(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b", "c")
	a := acc("a", 0)
	a.MACLimit = 3
	r.reconf(oneBridge(a, acc("b", 0), acc("c", 0)))
	for i := 1; i <= 5; i++ {
		r.send("a", frame(bcast(), macN(i), -1))
	}
	r.recv()
	for i := 1; i <= 3; i++ {
		r.requireFDB(0, macN(i), "a", false)
	}
	r.requireFDB(0, macN(4), "", false)
	r.requireFDB(0, macN(5), "", false)
	pa := portInfo(t, r.s, "a")
	require.Equal(t, 3, pa.MACs)
	require.Equal(t, 3, pa.MACLimit)
	require.EqualValues(t, 2, pa.MACLimitDrops)
	r.send("b", frame(macN(4), macN(10), -1))
	require.Equal(t, []string{"a", "c"}, r.receivers(), "an unlearned MAC is flooded to")
	pb := portInfo(t, r.s, "b")
	require.Equal(t, DefaultPortMACLimit, pb.MACLimit)
	require.Equal(t, 1, pb.MACs)
	require.Zero(t, pb.MACLimitDrops)

	// A move onto a port at its limit is refused too.
	r.send("a", frame(bcast(), macN(10), -1))
	r.recv()
	r.requireFDB(0, macN(10), "b", false)
	require.EqualValues(t, 3, portInfo(t, r.s, "a").MACLimitDrops)

	// A flush makes room without waiting for the ager.
	require.NoError(t, r.s.FlushFDB("br0"))
	r.send("a", frame(bcast(), macN(4), -1))
	r.recv()
	r.requireFDB(0, macN(4), "a", false)
	require.Equal(t, 1, portInfo(t, r.s, "a").MACs)
}

// TestPortMACLimitDefault: with no limit set a port learns
// DefaultPortMACLimit MACs, well below its bridge's limit, and no more.
func TestPortMACLimitDefault(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	r.ports["b"].SetSink(true)
	r.reconf(oneBridge(acc("a", 0), acc("b", 0)))
	const extra = 10
	batch := make([][]byte, 0, 64)
	for i := range DefaultPortMACLimit + extra {
		batch = append(batch, frame(macN(2), macN(1000+i), -1))
		if len(batch) == cap(batch) || i == DefaultPortMACLimit+extra-1 {
			r.send("a", batch...)
			batch = batch[:0]
		}
	}
	pa := portInfo(t, r.s, "a")
	require.Equal(t, DefaultPortMACLimit, pa.MACs)
	require.EqualValues(t, extra, pa.MACLimitDrops)
	require.Equal(t, DefaultPortMACLimit, r.s.MACStats().Entries)
	require.Less(t, DefaultPortMACLimit, DefaultMACLimit/16)
}

func TestPortMACLimitConfig(t *testing.T) {
	for _, n := range []int{-1, MaxMACLimit + 1} {
		p := acc("a", 0)
		p.MACLimit = n
		c := oneBridge(p)
		err := c.Validate()
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "bridges[br0].ports[a].mac_limit", ce.Path)
	}
}

// TestMACTableMemoryPerEntry measures what one MAC entry costs, the figure
// the package doc states: 16 bytes a slot (8 key, 8 value), with the table
// between 3/8 and 3/4 full after growing (it doubles at 3/4), so 21 to 43
// bytes per entry, and a moment of 1.5 times that while it doubles.
func TestMACTableMemoryPerEntry(t *testing.T) {
	const n = 1 << 18
	var m0, m1 runtime.MemStats
	r := newRig(t, Options{})
	l := r.s.lrn
	runtime.GC()
	runtime.ReadMemStats(&m0)
	l.mu.Lock()
	for i := range n {
		l.insert(1, 0, macKey(1, uint64(0x020000000000+i)), packVal(1, 0, false, 0))
	}
	l.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	mt := l.macs.Load()
	require.Equal(t, n, mt.count)
	perEntry := float64(len(mt.b)*64) / n
	t.Logf("%d entries: table %d buckets, %.1f bytes per entry (heap grew by %.1f bytes per entry)",
		n, len(mt.b), perEntry, float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/n)
	require.GreaterOrEqual(t, perEntry, 16/0.75)
	require.LessOrEqual(t, perEntry, 16/0.375)
}
