package encap

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
)

// TestPipelinePool runs the encap and decap nodes' per-packet steps on a
// real buffer pool: encapsulate into the headroom and Prepend, then
// ParseOuter, Advance and trim back to the inner frame.
func TestPipelinePool(t *testing.T) {
	require.Equal(t, pipeline.FrameSize, testFrameSize)
	require.Equal(t, pipeline.Headroom, testHeadroom)
	require.LessOrEqual(t, MaxOverhead, pipeline.Headroom)

	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 256})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	vlan := config6()
	vlan.VLAN = 3
	for _, c := range []TemplateConfig{config4(), config6(), vlan} {
		tpl := mustTemplate(t, c)
		inner := randomInner(t, rng)
		id, ok := pool.Alloc()
		require.True(t, ok)
		require.True(t, pool.SetPacket(id, inner))

		// The encap node's steps, then the decap node's.
		encapStep := func() bool {
			m := pool.Meta(id)
			if _, _, ok := Encap(tpl, pool.Frame(id), int(m.Off), int(m.Len), InnerFlowHash(pool.Packet(id))); !ok {
				return false
			}
			_, ok := pool.Prepend(id, tpl.Len())
			return ok
		}
		decapStep := func() bool {
			o, r := ParseOuter(pool.Packet(id), DecapConfig{})
			if r != OK || !pool.Advance(id, o.InnerOff) {
				return false
			}
			pool.Meta(id).Len = uint16(o.InnerLen)
			return true
		}
		require.True(t, encapStep())
		checkEncapsulated(t, c, tpl, pool.Packet(id), inner, InnerFlowHash(inner))
		require.True(t, decapStep())
		require.Equal(t, inner, pool.Packet(id))
		require.Equal(t, uint16(pipeline.Headroom), pool.Meta(id).Off)

		// Neither allocates.
		require.Zero(t, testing.AllocsPerRun(100, func() { sinkBool = encapStep() && decapStep() }))
		require.True(t, sinkBool)
		require.Equal(t, inner, pool.Packet(id))
		pool.Free(id)
	}
}
