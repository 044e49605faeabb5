package fastpath

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayout(t *testing.T) {
	assert.Equal(t, 8, binary.Size(fdbKey{}))
	assert.Equal(t, 16, binary.Size(fdbValue{}))
	assert.Equal(t, 8, binary.Size(portValue{}))
	assert.Equal(t, 8, binary.Size(vlanKey{}))
	assert.Equal(t, 4, binary.Size(vlanValue{}))
	assert.Equal(t, 16, binary.Size(entryCounters{}))
	assert.Equal(t, portCtrSize, binary.Size(portCounters{}))
	assert.Equal(t, 12, binary.Size(allow4Key{}))
	assert.Equal(t, 24, binary.Size(allow6Key{}))
}

type fakeFD int

func (f fakeFD) FD() int { return int(f) }

// TestProgramAssembles: every jump and map reference of the program
// resolves (the kernel's verifier is the real test, in the Linux tests).
func TestProgramAssembles(t *testing.T) {
	insns := program()
	for _, ref := range []string{refPorts, refVLANs, refFDB, refDevmap, refPortMax, refAllow4, refAllow6, refEntryCtr, refPortCtr, refMissCtr, refXSKs} {
		require.NoError(t, insns.AssociateMap(ref, fakeFD(3)), ref)
	}
	require.NoError(t, insns.Marshal(io.Discard, binary.LittleEndian))
	t.Logf("%d instructions", len(insns))
}

func TestMissReasons(t *testing.T) {
	seen := map[string]bool{}
	for r := range MissReason(NumMissReasons) {
		s := r.String()
		assert.NotEmpty(t, s)
		assert.False(t, seen[s], s)
		seen[s] = true
	}
	assert.Equal(t, "MissReason(99)", MissReason(99).String())
	var c PortCounters
	c.Miss[MissVLAN], c.Miss[MissHairpin] = 2, 3
	assert.EqualValues(t, 5, c.Misses())
}

func TestSlots(t *testing.T) {
	s := newSlots(3)
	var got []uint32
	for range 3 {
		x, ok := s.alloc()
		require.True(t, ok)
		got = append(got, x)
	}
	assert.Equal(t, []uint32{0, 1, 2}, got)
	_, ok := s.alloc()
	assert.False(t, ok)
	assert.False(t, s.starved())
	s.release(1)
	assert.True(t, s.starved(), "only a quarantined slot")
	_, ok = s.alloc()
	assert.False(t, ok, "quarantined slot handed out")
	assert.Equal(t, 2, s.inUse())
	s.quiesced()
	x, ok := s.alloc()
	require.True(t, ok)
	assert.Equal(t, uint32(1), x)
	assert.Equal(t, 3, s.inUse())
}

func TestMapsConfigDefaults(t *testing.T) {
	c, err := MapsConfig{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, MapsConfig{MaxEntries: DefaultMaxEntries, MaxPorts: DefaultMaxPorts, MaxVLANs: DefaultMaxVLANs, MaxSources: DefaultMaxSources}, c)
	_, err = MapsConfig{MaxPorts: 1 << 17}.withDefaults()
	assert.ErrorIs(t, err, ErrBadConfig)
	_, err = MapsConfig{MaxEntries: -1}.withDefaults()
	assert.ErrorIs(t, err, ErrBadConfig)
	assert.ErrorIs(t, checkMAC(MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), ErrBadConfig)
	assert.NoError(t, checkMAC(MAC{0x02, 0, 0, 0, 0, 1}))
	assert.ErrorIs(t, checkVID(4095), ErrBadConfig)
}
