package proto

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		for range 10 {
			b := randBytes(r, n)
			init := uint16(r.Uint32())
			require.Equal(t, refSum(b, init), Sum(b, init), "len %d", n)
		}
	}
	// All ones: every add carries.
	for n := range 100 {
		b := make([]byte, n)
		for i := range b {
			b[i] = 0xFF
		}
		require.Equal(t, refSum(b, 0xFFFF), Sum(b, 0xFFFF), "len %d", n)
	}
	require.Equal(t, uint16(0), Sum(nil, 0))
	require.Equal(t, uint16(0), Sum(make([]byte, 64), 0))
}

func TestChecksumKnownHeader(t *testing.T) {
	// A widely quoted IPv4 header with checksum 0xb861.
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	require.Equal(t, uint16(0xb861), Checksum(h, 0))
	require.Equal(t, uint16(0xb861), ^sum32(h))
	binary.BigEndian.PutUint16(h[10:], 0xb861)
	require.Equal(t, uint16(0), Checksum(h, 0))
}

func TestAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		a, b := uint16(r.Uint32()), uint16(r.Uint32())
		var buf [4]byte
		binary.BigEndian.PutUint16(buf[:], a)
		binary.BigEndian.PutUint16(buf[2:], b)
		require.Equal(t, refSum(buf[:], 0), Add(a, b))
	}
}

// TestUpdate16 changes one word of random data and compares the
// incremental checksum with a full recomputation, steering some cases to
// the one's-complement corners: a checksum of 0x0000 before or after, and
// words 0x0000 and 0xFFFF.
func TestUpdate16(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	corners := []uint16{0, 0xFFFF, 1, 0xFFFE, 0x8000}
	pick := func() uint16 {
		if r.IntN(3) == 0 {
			return corners[r.IntN(len(corners))]
		}
		return uint16(r.Uint32())
	}
	// zeroSum sets word f so that b sums to 0xFFFF: a checksum of 0x0000.
	zeroSum := func(b []byte, f int) {
		binary.BigEndian.PutUint16(b[f:], 0)
		binary.BigEndian.PutUint16(b[f:], ^refSum(b, 0))
	}
	zeros := 0
	for i := range 100000 {
		n := 2 * (3 + r.IntN(20))
		b := randBytes(r, n)
		b[0] |= 0x40 // never all zero: one's complement has no checksum for that
		w := 2 * (1 + r.IntN(n/2-2))
		f := w + 2 // the word steered for the corner cases
		old, nw := pick(), pick()
		binary.BigEndian.PutUint16(b[w:], old)
		switch i % 3 {
		case 1: // checksum 0x0000 before
			zeroSum(b, f)
		case 2: // checksum 0x0000 after
			binary.BigEndian.PutUint16(b[w:], nw)
			zeroSum(b, f)
			binary.BigEndian.PutUint16(b[w:], old)
		}
		csum := ^refSum(b, 0)
		binary.BigEndian.PutUint16(b[w:], nw)
		want := ^refSum(b, 0)
		if want == 0 {
			zeros++
		}
		require.Equal(t, want, Update16(csum, old, nw), "case %d", i)
	}
	require.Greater(t, zeros, 30000)
}

func TestUpdate32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		b := randBytes(r, 20)
		b[0] = 0x45
		w := 4 * (1 + r.IntN(4))
		csum := ^refSum(b, 0)
		old := binary.BigEndian.Uint32(b[w:])
		nw := r.Uint32()
		if r.IntN(4) == 0 {
			nw = [...]uint32{0, 0xFFFFFFFF, 0xFFFF0000, 0x0000FFFF}[r.IntN(4)]
		}
		binary.BigEndian.PutUint32(b[w:], nw)
		require.Equal(t, ^refSum(b, 0), Update32(csum, old, nw))
	}
}

// randHeader4 returns a random, valid 20-byte IPv4 header with TTL > 1.
func randHeader4(r *rand.Rand) []byte {
	h := randBytes(r, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], 20)
	h[8] = byte(2 + r.IntN(254))
	setChecksum4(h)
	return h
}

func TestDecTTL4(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var zeroBefore, zeroAfter int
	for i := range 200000 {
		h := randHeader4(r)
		switch i % 3 {
		case 1: // checksum 0x0000 before: pick the ID to steer the sum
			binary.BigEndian.PutUint16(h[4:], 0)
			h[10], h[11] = 0, 0
			binary.BigEndian.PutUint16(h[4:], ^refSum(h, 0))
		case 2: // checksum 0x0000 after the decrement
			binary.BigEndian.PutUint16(h[4:], 0)
			h[10], h[11] = 0, 0
			h[8]--
			binary.BigEndian.PutUint16(h[4:], ^refSum(h, 0))
			h[8]++
			setChecksum4(h)
		}
		if h[10]|h[11] == 0 {
			zeroBefore++
		}
		want := append([]byte(nil), h...)
		want[8]--
		setChecksum4(want)
		if want[10]|want[11] == 0 {
			zeroAfter++
		}
		DecTTL4(h)
		require.Equal(t, want, h, "case %d", i)
		_, reason := Check4(h)
		require.Equal(t, OK, reason)
	}
	require.Greater(t, zeroBefore, 60000)
	require.Greater(t, zeroAfter, 60000)
}

func TestDecHop6(t *testing.T) {
	p := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2, 10)
	DecHop6(p)
	require.Equal(t, uint8(63), HopLimit6(p))
}

// TestPseudoSums checks the pseudo-header sums against UDP checksums
// computed by gopacket.
func TestPseudoSums(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1401} {
		p := udp4(t, "10.1.2.3", "192.168.77.200", 1234, 53, n)
		udp := p[20:]
		require.Equal(t, uint16(0xFFFF), Sum(udp, PseudoSum4(Src4(p), Dst4(p), ProtoUDP, uint16(len(udp)))))

		p = udp6(t, "2001:db8:ffff::1", "fe80::abcd:ef01:2345:6789", 1234, 53, n)
		udp = p[40:]
		sh, sl := Src6(p)
		dh, dl := Dst6(p)
		require.Equal(t, uint16(0xFFFF), Sum(udp, PseudoSum6(sh, sl, dh, dl, ProtoUDP, uint32(len(udp)))))
	}
}
