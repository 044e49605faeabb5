package fib

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzTable4Ops decodes b into operations of 6 bytes each (op, address,
// length) and checks the table against the reference model after each.
// Op bit 7 clear keeps the address inside 10.0.0.0/16 so prefixes overlap;
// op%4: 0-1 insert (next hop from the op), 2 delete, 3 Reclaim. After each
// operation the table answers like the model for the prefix's first and
// last address and their neighbours.
func FuzzTable4Ops(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 24, 4, 0, 0, 0, 0x80, 25, 2, 0, 0, 0, 0, 24})
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 32, 6, 0, 0, 1, 2, 32, 3, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 16, 1, 0, 0, 1, 0, 24, 0, 0, 0, 1, 0xc0, 26, 2, 0, 0, 1, 0, 24, 2, 0, 0, 0, 0, 16})
	tb := newTable4(f, Limits{Groups: 64})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m ref4
		defer func() { // leave the table empty for the next input
			for _, r := range m.r {
				require.NoError(t, tb.Delete(r.prefix()))
			}
			tb.Reclaim()
		}()
		for ; len(b) >= 6; b = b[6:] {
			op, a, bits := b[0], binary.BigEndian.Uint32(b[1:5]), int(b[5]%33)
			if bits > 0 && bits < 12 {
				bits += 12 // a /1 writes 8M entries: slow, and no different
			}
			if op&0x80 == 0 {
				a = 0x0a000000 | a&0xffff
			}
			if bits < 32 {
				a &^= ^uint32(0) >> bits
			}
			p := pfx4(a, bits)
			switch op % 4 {
			case 0, 1:
				nh := 1 + uint32(op>>2)
				if err := tb.Insert(p, nh); errors.Is(err, ErrTableFull) {
					break
				} else {
					require.NoError(t, err)
				}
				m.insert(a, bits, nh)
			case 2:
				if m.delete(a, bits) {
					require.NoError(t, tb.Delete(p))
				} else {
					require.ErrorIs(t, tb.Delete(p), ErrNotFound)
				}
			case 3:
				tb.Reclaim()
			}
			last := a | ^uint32(0)>>bits
			if bits == 0 {
				last = ^uint32(0)
			}
			for _, x := range []uint32{a, last, a - 1, last + 1, a ^ 0x80, a ^ 0x8000} {
				checkLookup4(t, tb, &m, x)
			}
		}
		require.Equal(t, len(m.r), tb.Len())
	})
}

// FuzzTable6Ops is FuzzTable4Ops for IPv6 with operations of 10 bytes (op,
// length, 8 bytes of address). Op bit 7 clear places them in bits 32-95
// under 2001:db8::/32; set, the 8 bytes are the first half of the address.
func FuzzTable6Ops(f *testing.F) {
	f.Add([]byte{0, 48, 0, 1, 0, 0, 0, 0, 0, 0, 4, 64, 0, 1, 0, 2, 0, 0, 0, 0, 2, 48, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 128, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 16, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0xab, 0, 0, 0, 0, 0, 0, 0, 56, 0, 0xab, 0xcd, 0, 0, 0, 0, 0, 2, 40, 0, 0xab, 0, 0, 0, 0, 0, 0})
	tb := newTable6(f, Limits{Groups: 64, Leaves: 64})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m ref6
		defer func() {
			for _, r := range m.r {
				require.NoError(t, tb.Delete(r.k.prefix()))
			}
			tb.Reclaim()
			nodes, leaves := tb.Nodes()
			require.Zero(t, nodes+leaves, "an empty table has no nodes or leaves")
		}()
		for ; len(b) >= 10; b = b[10:] {
			op, bits, v := b[0], int(b[1]%129), binary.BigEndian.Uint64(b[2:10])
			if bits > 0 && bits < 12 {
				bits += 12 // a /1 writes 8M root entries: slow, and no different
			}
			k := key6{0x20010db800000000 | v>>32, v << 32, 0}
			if op&0x80 != 0 {
				k = key6{v, v * 0x9e3779b97f4a7c15, 0}
			}
			k = k.masked(bits)
			p := k.prefix()
			switch op % 4 {
			case 0, 1:
				nh := 1 + uint32(op>>2)
				if err := tb.Insert(p, nh); errors.Is(err, ErrTableFull) {
					break
				} else {
					require.NoError(t, err)
				}
				m.insert(k, nh)
			case 2:
				if m.delete(k) {
					require.NoError(t, tb.Delete(p))
				} else {
					require.ErrorIs(t, tb.Delete(p), ErrNotFound)
				}
			case 3:
				tb.Reclaim()
			}
			mh, ml := mask6(bits)
			lhi, llo := k.hi|^mh, k.lo|^ml
			for _, x := range [][2]uint64{{k.hi, k.lo}, {lhi, llo}, {k.hi, k.lo - 1}, {lhi, llo + 1}, {k.hi ^ 1<<40, k.lo}, {k.hi, k.lo ^ 1<<60}} {
				checkLookup6(t, tb, &m, x[0], x[1])
			}
		}
		require.Equal(t, len(m.r), tb.Len())
	})
}
