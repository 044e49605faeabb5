package csum

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// ref is RFC 1071's loop, 16 bits at a time.
func ref(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xFFFF {
		s = s&0xFFFF + s>>16
	}
	return uint16(s)
}

func TestSumAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xFF
			}
		}
		init := uint16(rng.Uint32())
		require.Equal(t, ref(b, init), Sum(b, init), "length %d", n)
	}
}

func TestFold(t *testing.T) {
	require.Equal(t, uint16(0xFFFF), Fold(0xFFFF))
	require.Equal(t, uint16(1), Fold(0x10000))
	require.Equal(t, uint16(0), Fold(0))
	require.NotZero(t, Fold(0xFFFFFFFFFFFFFFFF))
}

func TestSumAllocs(t *testing.T) {
	b := make([]byte, 64)
	require.Zero(t, testing.AllocsPerRun(100, func() { Sum(b, 0) }))
}
