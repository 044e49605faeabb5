package offload

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompleteChecksumMatchesGopacket: a frame whose checksum field holds
// the pseudo-header sum is completed into the frame gopacket builds.
func TestCompleteChecksumMatchesGopacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []spec{
		{payload: 0}, {payload: 1}, {payload: 1447}, {payload: 65000},
		{v6: true, payload: 333}, {udp: true, payload: 1001}, {udp: true, v6: true, vlan: true, payload: 2},
		{ipOpts: true, payload: 64},
	} {
		frame, payload, h := gsoFrame(t, s, rng)
		want := expected(t, spec{mss: s.payload + 1, v6: s.v6, udp: s.udp, vlan: s.vlan, ipOpts: s.ipOpts, payload: s.payload}, payload, 0, 1)
		require.NoError(t, CompleteChecksum(frame, int(h.CsumStart), int(h.CsumOffset)))
		requireEqualCsum(t, s, want, frame)
	}
}

// TestCompleteChecksumAnyOffset checks the skb_checksum_help semantics at
// odd starts and lengths (even offsets from start) against the reference sum.
func TestCompleteChecksumAnyOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		n := 2 + rng.IntN(300)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		start := rng.IntN(n - 1)
		off := rng.IntN(n-start-1) &^ 1 // an even offset from start, as L4 checksums are
		seed := binary.BigEndian.Uint16(b[start+off:])
		require.NoError(t, CompleteChecksum(b, start, off))
		require.Equal(t, uint16(0xFFFF), refSum(b[start:], uint32(seed)), "verifies with the pseudo-header sum")
		require.NotZero(t, binary.BigEndian.Uint16(b[start+off:]), "0 is written as 0xFFFF")
	}
}

func TestCompleteChecksumZeroIsMangled(t *testing.T) {
	// The data sums to 0xFFFF: the complement is 0, written as 0xFFFF.
	b := []byte{0xFF, 0x00, 0x00, 0xFF, 0x00, 0x00}
	require.NoError(t, CompleteChecksum(b, 0, 4))
	require.Equal(t, []byte{0xFF, 0xFF}, b[4:])
}

func TestCompleteChecksumBounds(t *testing.T) {
	b := make([]byte, 20)
	for _, c := range [][2]int{{-1, 0}, {0, -1}, {19, 0}, {18, 1}, {21, 0}, {0, 19}, {1 << 40, 0}, {0, 1 << 62}} {
		require.ErrorIs(t, CompleteChecksum(b, c[0], c[1]), ErrBadCsumOffset, "start %d offset %d", c[0], c[1])
	}
	require.NoError(t, CompleteChecksum(b, 18, 0))
	require.NoError(t, CompleteChecksum(b, 0, 18))
	require.ErrorIs(t, CompleteChecksum(nil, 0, 0), ErrBadCsumOffset)
}

func TestFillChecksums(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []spec{{payload: 100}, {v6: true, udp: true, payload: 77}, {vlan: true, ipOpts: true, payload: 3}} {
		s.mss = 1448
		frame, payload, _ := gsoFrame(t, s, rng)
		_, _, innerL3, _, _ := s.offsets()
		if !s.v6 {
			frame[innerL3+10] ^= 0x55 // break the IPv4 header checksum too
		}
		require.NoError(t, FillChecksums(frame))
		require.Equal(t, expected(t, s, payload, 0, 1), frame)
		// Ethernet padding after the IP packet is not summed.
		padded := append(append([]byte(nil), frame...), 0xAB, 0xCD, 0xEF)
		require.NoError(t, FillChecksums(padded))
		require.Equal(t, frame, padded[:len(frame)])
	}
	frame, _, _ := gsoFrame(t, spec{payload: 100, mss: 1448}, rng)
	require.ErrorIs(t, FillChecksums(frame[:len(frame)-1]), ErrBadLength)
	require.ErrorIs(t, FillChecksums(frame[:30]), ErrTruncated)
}

func TestPseudoSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	ip := make([]byte, 40)
	for range 100 {
		for i := range ip {
			ip[i] = byte(rng.Uint32())
		}
		l := rng.IntN(65536)
		require.Equal(t, refPseudo(ip, false, false, l), PseudoSum4(ip, protoTCP, l))
		require.Equal(t, refPseudo(ip, true, true, l), PseudoSum6(ip, protoUDP, l))
	}
}
